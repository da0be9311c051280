"""Prints what the simulation tests ran (seeds, ticks, messages, operations) after the test session."""

from __future__ import annotations

from typing import Any

SUMMARY_LINES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SUMMARY_LINES:
        terminalreporter.section("raft simulation")
        for line in SUMMARY_LINES:
            terminalreporter.write_line(line)
