"""The input of importRecords."""

from __future__ import annotations

import strawberry

from cmgraph.api.imports.types import ImportErrorPolicy, ImportKind
from cmgraph.services import imports


@strawberry.input(name="ImportRecordsInput")
class ImportRecordsInput:
    kind: ImportKind  # type: ignore[valid-type]
    csv: str = strawberry.field(description="The file's text: a header line, then the rows.")
    dry_run: bool = strawberry.field(
        default=False, description="Check every row and answer, write nothing."
    )
    error_policy: ImportErrorPolicy = strawberry.field(  # type: ignore[valid-type]
        default=imports.ErrorPolicy.REJECT_EVERYTHING
    )
