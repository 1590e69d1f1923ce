"""The benchmark's CPU per request (bench/peers/cpu.py): how a stack is named, whose CPU is
counted, and the report's ratios, taken pair by pair against the first stack."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pytest

from bench.peers import cpu


def test_a_stack_names_a_checkout_and_its_settings() -> None:
    stack = cpu.Stack.parse("pool15@CMGRAPH_DB_POOL_SIZE=15,CMGRAPH_DB_POOL_OVERFLOW=0=/x/y")
    assert (stack.name, stack.checkout) == ("pool15", Path("/x/y"))
    assert stack.env == {"CMGRAPH_DB_POOL_SIZE": "15", "CMGRAPH_DB_POOL_OVERFLOW": "0"}
    assert cpu.Stack.parse("graphql-core").checkout is None
    with pytest.raises(argparse.ArgumentTypeError):
        cpu.Stack.parse("nameless")


def test_the_cpu_counted_is_the_processs() -> None:
    before, started = cpu.cpu_seconds(os.getpid()), time.process_time()
    while time.process_time() - started < 0.05:
        pass
    assert cpu.cpu_seconds(os.getpid()) - before >= 0.03  # clock ticks of 10 ms


def test_the_report_compares_each_pair_with_the_first_stack() -> None:
    def one(stack: str, pair: int, cpu_us: float) -> dict[str, object]:
        return {
            "stack": stack,
            "pair": pair,
            "connections": 8,
            "requests": 100,
            "failures": 0,
            "rps": 10.0,
            "cpu_us": cpu_us,
            "opened": 3,
        }

    runs = [one("old", 0, 2000), one("new", 0, 1800), one("old", 1, 1000), one("new", 1, 950)]
    lines = cpu.report(runs, ["old", "new"])
    assert lines[0].startswith("at 8 connections")
    assert "x1.000 of old" in lines[1]
    assert "x0.925 of old" in lines[2]  # the median of 0.90 and 0.95, not of the medians
    assert "connections opened [3, 3]" in lines[2]
