"""Declaring per-payor settings (cmgraph_payor_settings) and reading them (Setting.of)."""

from __future__ import annotations

from datetime import date, timedelta
from types import MappingProxyType
from typing import Any
from uuid import uuid4

import pytest

from cmgraph import hookimpl
from cmgraph.facts import Payor, PayorKind, Payors, Setting, SettingKind
from cmgraph.plugins import PluginError, RuleBook
from cmgraph.testing import Registrar

NOTICE = Setting("notice_hours", SettingKind.INTEGER, 24, "Hours of notice of a new CM.")


class Notice:
    name = "notice"

    @hookimpl
    def cmgraph_payor_settings(self) -> list[Setting]:
        return [NOTICE]

    @hookimpl
    def cmgraph_lead_time(self, payor: Payor | None) -> timedelta | None:
        return timedelta(hours=NOTICE.of(payor))


def _payor(**settings: Any) -> Payor:
    return Payor(uuid4(), "Acme", PayorKind.COMMERCIAL, ("notice",), MappingProxyType(settings))


@pytest.mark.cmgraph_plugins(Notice())
def test_a_setting_reads_as_its_default_until_the_payor_sets_it(cmgraph_book: RuleBook) -> None:
    assert cmgraph_book.lead_time("ABA", Payors(primary=_payor())) == timedelta(hours=24)
    assert cmgraph_book.lead_time("ABA", Payors(primary=_payor(notice_hours=72))) == timedelta(
        hours=72
    )
    assert cmgraph_book.settings["notice_hours"].plugin == "notice"


@pytest.mark.cmgraph_plugins(Notice())
def test_the_core_says_what_is_wrong_with_a_payors_settings(cmgraph_book: RuleBook) -> None:
    assert cmgraph_book.setting_errors(["notice"], {"notice_hours": 72}) == []
    assert cmgraph_book.setting_errors(["notice"], {"notice_hours": "72"}) == [
        "notice_hours: expected an integer."
    ]
    assert cmgraph_book.setting_errors([], {"notice_hours": 72}) == [
        "notice_hours: none of the payor's plugins reads this setting (they read: none)."
    ]


class OtherNotice:
    name = "other_notice"

    @hookimpl
    def cmgraph_payor_settings(self) -> list[Setting]:
        return [Setting("notice_hours", SettingKind.TEXT, "24")]


def test_two_plugins_declaring_one_setting_of_two_kinds_stop_start_up() -> None:
    registrar = Registrar()
    registrar.register(Notice())
    registrar.register(OtherNotice())
    with pytest.raises(
        PluginError,
        match="setting 'notice_hours' is declared integer here and text by 'other_notice'",
    ):
        RuleBook(registrar.manager())


def test_date_periods_parse_to_dates() -> None:
    assert SettingKind.DATE_PERIODS.parse([{"from": "2026-03-01", "to": "2026-03-02"}]) == (
        (date(2026, 3, 1), date(2026, 3, 2)),
    )
