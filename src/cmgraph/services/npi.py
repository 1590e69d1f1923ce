"""National Provider Identifiers: ten digits, the last a Luhn check digit (CMS)."""

from __future__ import annotations

from stdnum import luhn

from cmgraph.services.outcome import INVALID_INPUT, refuse

# The NPI check digit is a Luhn digit over the number prefixed with 80840 (CMS).
NPI_PREFIX = "80840"


def valid_npi(npi: str) -> bool:
    return len(npi) == 10 and npi.isdigit() and luhn.is_valid(NPI_PREFIX + npi)


def checked_npi(value: str, field: str = "npi") -> str:
    value = value.strip()
    if not valid_npi(value):
        raise refuse(
            INVALID_INPUT, f"{value!r} is not a valid NPI (10 digits, check digit).", field
        )
    return value
