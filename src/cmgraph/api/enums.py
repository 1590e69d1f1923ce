"""The facts' enums are the schema's enums, under the same names: import them from here,
so that they are registered with strawberry before a type uses them."""

from __future__ import annotations

import strawberry

from cmgraph.facts import AppointmentStatus, EnrollmentStatus, PayorKind, Severity

for _enum in (Severity, PayorKind, EnrollmentStatus, AppointmentStatus):
    strawberry.enum(_enum)

__all__ = ["AppointmentStatus", "EnrollmentStatus", "PayorKind", "Severity"]
