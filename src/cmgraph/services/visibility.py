"""What a caller may see of the organization's clients.

A clinician sees only the clients on their own caseload: those for whom their provider holds
a case-manager assignment that has not ended before today (current or upcoming). Everyone
else bound to the organization sees all of its clients. The conditions are SQL, so that lists,
counts and look-ups by id filter in the database and a hidden row is indistinguishable from a
missing one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, or_, true
from sqlalchemy.orm import aliased

from cmgraph.db import models
from cmgraph.services.scope import TenantScope


def client_visible(scope: TenantScope, client_id: Any) -> ColumnElement[bool]:
    """True for a client id (a column or value) the caller may see."""
    if scope.caseload_of is None:
        return true()
    a = aliased(models.Assignment)  # aliased: the outer query may be over assignments too
    return exists().where(
        a.organization_id == scope.organization_id,
        a.client_id == client_id,
        a.provider_id == scope.caseload_of,
        or_(a.end_date.is_(None), a.end_date >= scope.today()),
    )


def row_visible(scope: TenantScope, model: Any) -> ColumnElement[bool]:
    """The condition on rows of `model` (a client, or a row belonging to one)."""
    if scope.caseload_of is None:
        return true()
    if model is models.Client:
        return client_visible(scope, models.Client.id)
    if hasattr(model, "client_id"):
        return client_visible(scope, model.client_id)
    return true()
