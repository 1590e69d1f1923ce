"""What a write returns: the result, or the reasons it did nothing, plus warnings."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Generic, Literal, TypeAlias, TypeVar, Union

from cmgraph.facts import Field, Finding

T = TypeVar("T")
V = TypeVar("V")


class Keep(enum.Enum):
    """Marks an update field that was left out (None would mean: clear it)."""

    KEEP = "KEEP"

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = Keep.KEEP
# What an update use case takes for a field: a new value, or KEEP to leave it as it is.
# (A Union, not `|`: a TypeVar's alias must stay subscriptable at run time.)
Update: TypeAlias = Union[V, Literal[Keep.KEEP]]  # noqa: UP007

INVALID_INPUT = "INVALID_INPUT"
NOT_FOUND = "NOT_FOUND"
UNKNOWN_SERVICE_LINE = "UNKNOWN_SERVICE_LINE"
STALE_VERSION = "STALE_VERSION"


@dataclass(frozen=True)
class UserError:
    field: Field | tuple[str, ...] | None  # a rule's Field, or an input path
    code: str
    message: str
    rule: str | None = None
    plugin: str | None = None

    @classmethod
    def from_finding(cls, finding: Finding) -> UserError:
        return cls(finding.field, finding.code, finding.message, finding.rule, finding.plugin)


class Refused(Exception):
    """Raised inside a use case to abandon its transaction with user errors; the rules'
    warnings that the write also met go with them, so a refused answer shows them too."""

    def __init__(self, *errors: UserError, warnings: Iterable[Finding] = ()) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors
        self.warnings = tuple(warnings)


def refuse(code: str, message: str, *field: str) -> Refused:
    return Refused(UserError(("input", *field) if field else None, code, message))


@dataclass(frozen=True)
class Outcome(Generic[T]):
    value: T | None = None
    errors: tuple[UserError, ...] = ()
    warnings: tuple[Finding, ...] = ()

    @classmethod
    def refused(cls, errors: Iterable[UserError], warnings: Iterable[Finding] = ()) -> Outcome[T]:
        return cls(errors=tuple(errors), warnings=tuple(warnings))


def split_findings(findings: Iterable[Finding]) -> tuple[list[Finding], list[Finding]]:
    """(errors, warnings)"""
    errors: list[Finding] = []
    warnings: list[Finding] = []
    for f in findings:
        (errors if f.is_error else warnings).append(f)
    return errors, warnings
