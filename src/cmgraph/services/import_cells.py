"""Reading one CSV cell as the value a service takes; a bad cell names its column."""

from __future__ import annotations

import enum
import re
from datetime import date, datetime
from typing import TypeVar

from cmgraph import facts

E = TypeVar("E", bound=enum.Enum)

TRUE = frozenset({"true", "yes", "1", "y", "t"})
FALSE = frozenset({"false", "no", "0", "n", "f"})


class CellError(Exception):
    """A cell that cannot be read; the row is refused with INVALID_INPUT on that column."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


class Row:
    """One data row of a file: its number as a spreadsheet shows it, and its cells."""

    def __init__(self, number: int, cells: dict[str, str]) -> None:
        self.number = number
        self.cells = cells

    def text(self, column: str) -> str | None:
        value = (self.cells.get(column) or "").strip()
        return value or None

    def required(self, column: str) -> str:
        value = self.text(column)
        if value is None:
            raise CellError(column, "This column needs a value.")
        return value

    def day(self, column: str) -> date | None:
        value = self.text(column)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise CellError(column, f"{value!r} is not a date (YYYY-MM-DD).") from None

    def required_day(self, column: str) -> date:
        self.required(column)
        value = self.day(column)
        assert value is not None
        return value

    def instant(self, column: str) -> datetime:
        value = self.required(column)
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise CellError(
                column, f"{value!r} is not a date-time (e.g. 2026-03-08T09:00:00-05:00)."
            ) from None
        if parsed.utcoffset() is None:
            raise CellError(column, "A date-time needs an offset (e.g. 2026-03-08T09:00-05:00).")
        return parsed

    def flag(self, column: str, default: bool) -> bool:
        value = self.text(column)
        if value is None:
            return default
        if value.lower() in TRUE:
            return True
        if value.lower() in FALSE:
            return False
        raise CellError(column, f"{value!r} is not true or false.")

    def integer(self, column: str, default: int) -> int:
        value = self.text(column)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise CellError(column, f"{value!r} is not a whole number.") from None

    def choice(self, column: str, kind: type[E], default: E | None = None) -> E:
        value = self.text(column)
        if value is None:
            if default is not None:
                return default
            raise CellError(column, "This column needs a value.")
        try:
            return kind(value.upper())
        except ValueError:
            known = ", ".join(str(m.value) for m in kind)
            raise CellError(column, f"{value!r} is not one of {known}.") from None

    def words(self, column: str) -> list[str]:
        return re.split(r"[\s,;]+", self.text(column) or "") if self.text(column) else []

    def credentials(self, column: str) -> list[facts.Credential]:
        """`TYPE|number|state|issued_on|expires_on` entries separated by `;`."""
        found = []
        for entry in (self.text(column) or "").split(";"):
            if not entry.strip():
                continue
            parts = [p.strip() or None for p in entry.split("|")]
            if len(parts) > 5 or parts[0] is None:
                raise CellError(
                    column, f"{entry.strip()!r} is not TYPE|number|state|issued_on|expires_on."
                )
            parts += [None] * (5 - len(parts))
            try:
                issued, expires = (date.fromisoformat(p) if p else None for p in parts[3:5])
            except ValueError:
                raise CellError(column, f"{entry.strip()!r}: dates are YYYY-MM-DD.") from None
            found.append(facts.Credential(parts[0], parts[1], parts[2], issued, expires))
        return found


def credential_text(c: facts.Credential) -> str:
    """A credential as the credentials column writes it (export and comparisons)."""
    parts = [c.type, c.number, c.state, c.issued_on, c.expires_on]
    text = "|".join("" if p is None else str(p) for p in parts)
    return text.rstrip("|")


def credentials_text(credentials: list[facts.Credential]) -> str:
    return ";".join(sorted(credential_text(c) for c in credentials))


def normalized_credentials(credentials: list[facts.Credential]) -> str:
    """What the provider service would store, for telling a changed list from the same."""
    return credentials_text(
        [
            facts.Credential(
                c.type.strip().upper(),
                (c.number or "").strip() or None,
                c.state.upper() if c.state else None,
                c.issued_on,
                c.expires_on,
            )
            for c in credentials
        ]
    )
