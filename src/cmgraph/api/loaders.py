"""DataLoaders, created per request: each batches its keys into one read of
services.batches, so the number of SQL statements of a query does not grow with the page
size."""

from __future__ import annotations

from asyncio import Future
from collections.abc import (
    Awaitable,
    Callable,
    Hashable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import contextmanager
from functools import cached_property
from typing import Any, TypeGuard, TypeVar, cast
from uuid import UUID

from strawberry.dataloader import DataLoader

from cmgraph import facts
from cmgraph.api.errors import PluginFailedError
from cmgraph.plugins import PluginFailed
from cmgraph.services import audit, batches, compliance, records, sessions
from cmgraph.services.batches import BatchRead
from cmgraph.services.reader import Reader
from cmgraph.services.scope import TenantScope

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
R = TypeVar("R")


def _by_id(
    reader: Reader, scope: TenantScope, read: BatchRead[UUID, V]
) -> DataLoader[UUID, V | None]:
    """Rows by id; one the read does not find (another organization's, or hidden from the
    caller) loads as None."""

    async def load(ids: list[UUID]) -> list[V | None]:
        found = await reader.rows(lambda connection: read(connection, scope, ids))
        return [found.get(i) for i in ids]

    return DataLoader(load)


def _grouped(
    reader: Reader, scope: TenantScope, read: BatchRead[K, list[V]]
) -> DataLoader[K, list[V]]:
    async def load(keys: list[K]) -> list[list[V]]:
        found = await reader.rows(lambda connection: read(connection, scope, keys))
        return [found.get(key, []) for key in keys]

    return DataLoader(load)


def ready(loader: DataLoader[K, V], key: K) -> V | Awaitable[V]:
    """The loaded value when the loader holds it already (api.prefetch), else its future."""
    future = loader.cache_map.get(key)
    if _succeeded(future):
        return future.result()
    return loader.load(key)  # pending, or failed: awaiting it raises as before


def _succeeded(future: Future[V] | None) -> TypeGuard[Future[V]]:
    """Whether a loader's future holds its value (not pending, cancelled nor failed)."""
    return (
        future is not None
        and future.done()
        and not future.cancelled()
        and future.exception() is None
    )


class Groups(DataLoader[tuple[K, ...], None]):
    """A loader of groups of keys: the groups asked in one turn of the event loop are read
    together, in one call of `read` with each key once. A prefetch (api.prefetch) asks for a
    page's keys as one group, so that two root fields asking at once (aliases) still share
    a statement, as their loaders would, without a future per key. `read` is kept for a
    field that asks alone (Loaders.alone): nobody could join it."""

    def __init__(self, read: Callable[[list[K]], Awaitable[None]]) -> None:
        async def load(asked: list[tuple[K, ...]]) -> list[None]:
            await read(list(dict.fromkeys(key for group in asked for key in group)))
            return [None] * len(asked)

        super().__init__(load, cache=False)
        self.read = read


def groups(read: Callable[[list[K]], Awaitable[None]]) -> Groups[K]:
    return Groups(read)


def missing(loader: DataLoader[K, Any], keys: Iterable[K]) -> tuple[K, ...]:
    """The keys the loader holds nothing for yet (not even a pending read), each once."""
    cache = loader.cache_map
    return tuple(key for key in dict.fromkeys(keys) if cache.get(key) is None)


def settle(
    loader: DataLoader[K, V], keys: Sequence[K], values: Sequence[V | BaseException]
) -> None:
    """Give the loader what its batch function answered for keys it still lacks."""
    cache = loader.cache_map
    for key, value in zip(keys, values, strict=True):
        if cache.get(key) is None:
            future = loader.loop.create_future()
            if isinstance(value, BaseException):
                future.set_exception(value)  # as the loader's own dispatch does
            else:
                future.set_result(value)
            cache.set(key, future)


def prime(loader: DataLoader[K, V], found: Mapping[K, V], keys: Iterable[K], absent: V) -> None:
    """Give the loader what a read found for `keys` (`absent` for a key it did not find),
    keeping what it holds already."""
    keys = list(keys)
    settle(loader, keys, [found.get(key, absent) for key in keys])


async def held(loader: DataLoader[K, V], keys: Iterable[K]) -> list[V]:
    """The values the loader holds for these keys (each primed, or pending)."""
    cache = loader.cache_map
    return [await cast("Awaitable[V]", cache.get(key)) for key in keys]


def resolved(loader: DataLoader[K, V], key: K, make: Callable[[V], R]) -> R:
    """make(the loaded value) at once when the loader holds it (api.prefetch), else an
    awaitable of it.

    Resolvers of related objects on the caseload page are plain functions that return
    either: graphql-core awaits what a resolver returns only when it is awaitable, so a
    prefetched page costs no task switch per related object. Typed as R for the schema."""
    future = loader.cache_map.get(key)
    if _succeeded(future):  # as `ready`, without asking whether its answer is awaitable
        return make(future.result())
    awaited = loader.load(key)

    async def later() -> R:
        return make(await awaited)

    return cast(R, later())


def _joined(
    scope: TenantScope,
    reader: Reader,
    read: Callable[[batches.Source, TenantScope, list[UUID]], Awaitable[tuple[Any, ...]]],
    by_client: DataLoader[UUID, Any],
    *parents: DataLoader[UUID, Any],
) -> Callable[[list[UUID]], Awaitable[None]]:
    """A joined read of services.batches (clients' rows, then their parents by id), priming
    `by_client` for every client asked and each of `parents` with what was found."""

    async def load(client_ids: list[UUID]) -> None:
        rows, *found = await reader.rows(lambda connection: read(connection, scope, client_ids))
        prime(by_client, rows, client_ids, [])
        for loader, values in zip(parents, found, strict=True):
            prime(loader, values, values, None)

    return load


@contextmanager
def plugin_failures() -> Iterator[None]:
    """A plugin that raises while a field resolves fails that field with PLUGIN_FAILED."""
    try:
        yield
    except PluginFailed as failed:
        raise PluginFailedError(failed) from None


class Loaders:
    """`<Model>By<Key>` loaders for one request, each made when first asked for: a request
    uses a few of them, and making all twenty took a tenth of a one-client page's work."""

    def __init__(self, scope: TenantScope, reader: Reader) -> None:
        self._scope, self._reader = scope, reader
        self._fillers: dict[int, Groups[Any]] = {}
        self._alone = False

    @contextmanager
    def alone(self, alone: bool = True) -> Iterator[None]:
        """While a root field that is the operation's only selection resolves (lookahead.
        alone), nothing else of the request asks the loaders for anything: its prefetches
        read at once rather than at the end of the event loop's turn, for others to join
        (a task and three turns of the loop per read), and take the same statements."""
        before, self._alone = self._alone, alone
        try:
            yield
        finally:
            self._alone = before

    async def _ask(self, group: Groups[K], keys: tuple[K, ...]) -> None:
        if self._alone:
            await group.read(list(keys))
        else:
            await group.load(keys)

    @cached_property
    def client_by_id(self) -> DataLoader[UUID, records.Client | None]:
        return _by_id(self._reader, self._scope, batches.clients_by_id)

    @cached_property
    def provider_by_id(self) -> DataLoader[UUID, records.Provider | None]:
        return _by_id(self._reader, self._scope, batches.providers_by_id)

    @cached_property
    def payor_by_id(self) -> DataLoader[UUID, records.Payor | None]:
        return _by_id(self._reader, self._scope, batches.payors_by_id)

    @cached_property
    def coverage_by_id(self) -> DataLoader[UUID, records.Coverage | None]:
        return _by_id(self._reader, self._scope, batches.coverages_by_id)

    @cached_property
    def enrollment_by_id(self) -> DataLoader[UUID, records.Enrollment | None]:
        return _by_id(self._reader, self._scope, batches.enrollments_by_id)

    @cached_property
    def appointment_by_id(self) -> DataLoader[UUID, records.Appointment | None]:
        return _by_id(self._reader, self._scope, batches.appointments_by_id)

    @cached_property
    def assignment_by_id(self) -> DataLoader[UUID, records.Assignment | None]:
        return _by_id(self._reader, self._scope, batches.assignments_by_id)

    @cached_property
    def credentials_by_provider(self) -> DataLoader[UUID, list[records.Credential]]:
        return _grouped(self._reader, self._scope, batches.credentials_by_provider)

    @cached_property
    def enrollments_by_provider(self) -> DataLoader[UUID, list[records.Enrollment]]:
        return _grouped(self._reader, self._scope, batches.enrollments_by_provider)

    @cached_property
    def coverages_by_client(self) -> DataLoader[UUID, list[records.Coverage]]:
        return _grouped(self._reader, self._scope, batches.coverages_by_client)

    @cached_property
    def assignments_by_client(self) -> DataLoader[UUID, list[records.Assignment]]:
        return _grouped(self._reader, self._scope, batches.assignments_by_client)

    @cached_property
    def assignments_by_provider(self) -> DataLoader[UUID, list[records.Assignment]]:
        return _grouped(self._reader, self._scope, batches.assignments_by_provider)

    @cached_property
    def appointments_by_client(
        self,
    ) -> DataLoader[tuple[UUID, batches.AppointmentFilters], list[records.Appointment]]:
        return _grouped(self._reader, self._scope, batches.appointments_by_client)

    @cached_property
    def lines_by_client(self) -> DataLoader[UUID, list[str]]:
        return self._lines_by_client(self._scope, self._reader)

    @cached_property
    def findings_by_client(self) -> DataLoader[UUID, list[facts.Finding]]:
        return self._findings_by_client(self._scope, self._reader)

    @cached_property
    def changes_by_entity(self) -> DataLoader[UUID, list[records.ChangeRecord]]:
        return self._changes_by_entity(self._scope, self._reader)

    @cached_property
    def verdict_by_appointment(self) -> DataLoader[UUID, sessions.Verdict | None]:
        return self._verdict_by_appointment(self._scope, self._reader)

    # Their reads prime other loaders: closures over those, not over self, so that no
    # loader refers back to this object (a reference cycle keeps everything the loaders
    # read alive until the collector runs, and then the collector walks all of it).
    @cached_property
    def _coverages_with_payors(self) -> Groups[UUID]:
        return groups(
            _joined(
                self._scope,
                self._reader,
                batches.coverages_with_payors,
                self.coverages_by_client,
                self.payor_by_id,
            )
        )

    @cached_property
    def _assignments_with_providers(self) -> Groups[UUID]:
        return groups(
            _joined(
                self._scope,
                self._reader,
                batches.assignments_with_providers,
                self.assignments_by_client,
                self.provider_by_id,
            )
        )

    @cached_property
    def _assignments_with_credentials(self) -> Groups[UUID]:
        return groups(
            _joined(
                self._scope,
                self._reader,
                batches.assignments_with_credentials,
                self.assignments_by_client,
                self.provider_by_id,
                self.credentials_by_provider,
            )
        )

    def clear(self) -> None:
        """Forget everything loaded: the request is answered (Context.release)."""
        for value in vars(self).values():
            if isinstance(value, DataLoader):
                value.clear_all()
                value.batch = None  # its last batch: the keys and futures it answered
        self._fillers.clear()

    async def fill(self, loader: DataLoader[K, V], keys: Iterable[K]) -> list[V]:
        """What `loader.load_many(keys)` answers, for a prefetch (api.prefetch): the keys it
        lacks read in one call of its batch function, shared with the other prefetches of
        this turn (loaders.groups). load_many would make a future per key, gather them, and
        run a callback per key on the event loop: about 500 a caseload page."""
        keys = list(keys)
        lacking = missing(loader, keys)
        if lacking:
            await self._ask(self._filler(loader), lacking)
        return await held(loader, keys)

    def _filler(self, loader: DataLoader[K, V]) -> Groups[K]:
        filler = self._fillers.get(id(loader))
        if filler is None:

            async def read(keys: list[K]) -> None:
                lacking = missing(loader, keys)
                if lacking:
                    settle(loader, lacking, await loader.load_fn(list(lacking)))

            filler = self._fillers[id(loader)] = groups(read)
        return filler

    async def coverages_with_payors(self, client_ids: Sequence[UUID]) -> None:
        """Fill coverages_by_client and payor_by_id for these clients, in one statement."""
        lacking = missing(self.coverages_by_client, client_ids)
        if lacking:
            await self._ask(self._coverages_with_payors, lacking)

    async def assignments_with_providers(self, client_ids: Sequence[UUID]) -> list[UUID]:
        """Fill assignments_by_client and provider_by_id for these clients, in one statement;
        the ids of their providers."""
        lacking = missing(self.assignments_by_client, client_ids)
        if lacking:
            await self._ask(self._assignments_with_providers, lacking)
        rows = await held(self.assignments_by_client, client_ids)
        return list(dict.fromkeys(a.provider_id for assignments in rows for a in assignments))

    async def assignments_with_credentials(self, client_ids: Sequence[UUID]) -> None:
        """Fill assignments_by_client, provider_by_id and credentials_by_provider for those
        of these clients whose assignments it does not hold yet, in one statement."""
        lacking = missing(self.assignments_by_client, client_ids)
        if lacking:
            await self._ask(self._assignments_with_credentials, lacking)

    @staticmethod
    def _lines_by_client(scope: TenantScope, reader: Reader) -> DataLoader[UUID, list[str]]:
        """The service lines each client has appointments in."""

        async def load(ids: list[UUID]) -> list[list[str]]:
            found = await reader.run(lambda session: batches.lines_by_client(session, scope, ids))
            return [sorted(found.get(i, [])) for i in ids]

        return DataLoader(load)

    @staticmethod
    def _findings_by_client(
        scope: TenantScope, reader: Reader
    ) -> DataLoader[UUID, list[facts.Finding]]:
        async def load(ids: list[UUID]) -> list[list[facts.Finding]]:
            with plugin_failures():
                found = await reader.run(
                    lambda session: compliance.client_findings(session, scope, ids)
                )
            return [found[i] for i in ids]

        return DataLoader(load)

    @staticmethod
    def _changes_by_entity(
        scope: TenantScope, reader: Reader
    ) -> DataLoader[UUID, list[records.ChangeRecord]]:
        async def load(ids: list[UUID]) -> list[list[records.ChangeRecord]]:
            found = await reader.run(
                lambda session: audit.events_by_entity(session, scope.organization_id, ids)
            )
            return [found.get(i, []) for i in ids]

        return DataLoader(load)

    @staticmethod
    def _verdict_by_appointment(
        scope: TenantScope, reader: Reader
    ) -> DataLoader[UUID, sessions.Verdict | None]:
        async def load(ids: list[UUID]) -> list[sessions.Verdict | None]:
            with plugin_failures():
                found = await reader.run(
                    lambda session: batches.verdicts_by_appointment(session, scope, ids)
                )
            return [found.get(i) for i in ids]

        return DataLoader(load)
