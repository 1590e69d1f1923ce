"""importRecords: one CSV file of one kind, through the same use cases as every mutation."""

from __future__ import annotations

import strawberry

from cmgraph.api.context import Info
from cmgraph.api.imports.inputs import ImportRecordsInput
from cmgraph.api.imports.types import ImportRecordsPayload
from cmgraph.services import imports
from cmgraph.services.outcome import Refused


@strawberry.type
class ImportMutations:
    @strawberry.mutation(
        description="Import one CSV file of one kind (docs/import.md): rows are matched by "
        "natural key, so sending the same file again changes nothing."
    )
    async def import_records(self, info: Info, input: ImportRecordsInput) -> ImportRecordsPayload:
        source = imports.Source(input.kind, "csv", input.csv)
        try:
            report = await imports.run_import(
                info.context.scope, [source], dry_run=input.dry_run, policy=input.error_policy
            )
        except Refused as refused:  # the request's Idempotency-Key was taken over
            return ImportRecordsPayload.nothing_done(refused.errors)
        if report.committed:
            await info.context.after_write()
        return ImportRecordsPayload.of(report)
