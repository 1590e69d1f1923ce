"""What importRecords answers: the counts of one kind's rows and why rows were refused."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry

from cmgraph.api.payloads import UserError
from cmgraph.services import imports
from cmgraph.services.csv_columns import Kind
from cmgraph.services.outcome import UserError as ServiceUserError

ImportKind = strawberry.enum(
    Kind,
    name="ImportKind",
    description="A kind of record a CSV file holds (docs/import.md lists its columns).",
)
ImportErrorPolicy = strawberry.enum(
    imports.ErrorPolicy,
    name="ImportErrorPolicy",
    description="REJECT_EVERYTHING: nothing is written when a row is refused. "
    "REJECT_FAILED_ROWS: the rows that pass are written, batch by batch.",
)


@strawberry.type(name="ImportRowError", description="Why one row of the file did nothing.")
class ImportRowError:
    row: int = strawberry.field(description="The row as a spreadsheet numbers it (header: 1).")
    column: str | None
    code: str
    message: str


@strawberry.type(
    name="ImportRecordsPayload",
    description="How many rows created, updated, left unchanged (their record already said "
    "so) or refused a record, and whether anything was written (false on a dry run).",
)
class ImportRecordsPayload:
    created: int
    updated: int
    unchanged: int
    refused: int
    committed: bool
    row_errors: list[ImportRowError]
    user_errors: list[UserError]

    @classmethod
    def nothing_done(cls, errors: Sequence[ServiceUserError]) -> ImportRecordsPayload:
        """Nothing was done: the whole request was refused."""
        return cls(
            created=0,
            updated=0,
            unchanged=0,
            refused=0,
            committed=False,
            row_errors=[],
            user_errors=[UserError.of(e) for e in errors],
        )

    @classmethod
    def of(cls, report: imports.Report) -> ImportRecordsPayload:
        counts = next(iter(report.counts.values()), imports.Counts())
        header = [e for e in report.errors if e.code == imports.INVALID_HEADER]
        return cls(
            created=counts.created,
            updated=counts.updated,
            unchanged=counts.unchanged,
            refused=counts.refused,
            committed=report.committed,
            row_errors=[
                ImportRowError(row=e.row, column=e.column, code=e.code, message=e.message)
                for e in report.errors
                if e.code != imports.INVALID_HEADER
            ],
            user_errors=[
                UserError.of(ServiceUserError(("input", "csv"), e.code, e.message)) for e in header
            ],
        )
