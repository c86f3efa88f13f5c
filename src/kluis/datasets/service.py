"""Access, erasure and rectification in benVitaal's own service databases (R-DSR-9).

The policy declares each dataset (tables, identity column, category per column, erasure strategy); its
URL comes from configuration. Work on one dataset runs in one transaction on that database: an erasure
either applies every table's strategy or changes nothing. A dataset that is down, not configured or does
not match its declaration raises ``DatasetUnavailable``: the request waits and is tried again, never
marked done. SQLAlchemy Core only, with nothing dialect-specific, so PostgreSQL, MariaDB/MySQL and SQLite
run the same statements.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Executable,
    TableClause,
    bindparam,
    column,
    delete,
    func,
    inspect,
    select,
    table,
    update,
)
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.datasets.connectors import Connections
from kluis.datasets.errors import DatasetUnavailable
from kluis.datasets.rules import Identity, check_changes, erasure_plan, match_values, plain, staff_message
from kluis.kit.clock import Clock
from kluis.policy.schemas import Dataset, DatasetTable, ErasureStrategy, IdentityKind, Policy, Text

__all__ = ["DatasetRows", "DatasetUnavailable", "Datasets", "ErasureResult", "Identity", "TableErasure",
           "audit_erasure", "audit_rectification"]

# digest(kind, normalised value) -> the keyed hash that replaces an identity (strategy keyed_hash).
Digest = Callable[[str, str], str]
R = TypeVar("R")


@dataclass(frozen=True)
class DatasetRows:
    """The person's rows in one table: only the declared columns, each with its category."""

    dataset_id: str
    name: Text
    table: str
    columns: dict[str, str]
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class TableErasure:
    """What erasure did in one table: rows deleted or changed, or (strategy keep) rows kept and why."""

    table: str
    strategy: ErasureStrategy
    rows: int
    kept_reason: Text | None = None


@dataclass(frozen=True)
class ErasureResult:
    dataset_id: str
    tables: list[TableErasure] = field(default_factory=list)

    @property
    def kept(self) -> list[TableErasure]:
        return [t for t in self.tables if t.strategy == ErasureStrategy.KEEP and t.rows]

    def audit_details(self) -> dict[str, Any]:
        """Counts per table for the audit event the caller writes: no values, no identities."""
        return {"dataset": self.dataset_id,
                "tables": {t.table: {"strategy": str(t.strategy), "rows": t.rows} for t in self.tables}}


class Datasets:
    def __init__(self, policy: Policy, urls: Mapping[str, str], digest: Digest) -> None:
        self.policy = policy
        self._digest = digest
        self._connections = Connections(urls)
        self._statements: dict[tuple[str, str], Executable] = {}
        self._reads: dict[tuple[str, str], Executable] = {}

    def ids(self) -> list[str]:
        return [d.id for d in self.policy.datasets]

    def read(self, dataset_id: str, identities: Sequence[Identity]) -> list[DatasetRows]:
        """The person's rows, table by table (empty tables included); raises ``DatasetUnavailable``."""
        dataset = self.policy.dataset(dataset_id)
        work = _tables(dataset, identities)
        found: list[DatasetRows] = []
        if not _any_values(work):
            return [DatasetRows(dataset.id, dataset.name, d.name, dict(d.columns), []) for d, _ in work]
        with self._connections.begin(dataset) as conn:
            for declared, values in work:
                rows: list[dict[str, Any]] = []
                if values:
                    query = self._read_statement(dataset, declared)
                    result = _run(dataset, declared, values,
                                  lambda q=query, v=values: conn.execute(q, {"values": v}).mappings().all())
                    rows = [{k: plain(v) for k, v in row.items()} for row in result]
                found.append(DatasetRows(dataset.id, dataset.name, declared.name, dict(declared.columns), rows))
        return found

    def erase(self, dataset_id: str, identities: Sequence[Identity]) -> ErasureResult:
        """Apply every table's strategy in one transaction. Running it again changes nothing more: the rows
        no longer carry the person's identity (or are kept, and reported as kept again)."""
        dataset = self.policy.dataset(dataset_id)
        work = _tables(dataset, identities)
        if not _any_values(work):
            return ErasureResult(dataset.id, [_untouched(declared) for declared, _ in work])
        with self._connections.begin(dataset) as conn:
            done = [self._erase_table(conn, dataset, declared, values) for declared, values in work]
        return ErasureResult(dataset.id, done)

    def rectify(self, dataset_id: str, identities: Sequence[Identity], changes: Mapping[str, Any]) -> int:
        """Set the given declared columns in the person's rows of every table that declares them; returns
        the number of rows updated. An undeclared column is refused before anything is written."""
        dataset = self.policy.dataset(dataset_id)
        per_table = check_changes(dataset, changes)
        hide = [*(i[2] for i in identities), *(str(v) for v in changes.values() if v is not None)]
        work = _tables(dataset, identities)
        updated = 0
        if not _any_values(work):
            return updated
        with self._connections.begin(dataset) as conn:
            for declared, values in work:
                new = per_table.get(declared.name)
                if not new or not values:
                    continue
                t = _clause(declared)
                statement = update(t).where(_matches(declared, t, values)).values(new)
                updated += _run(dataset, declared, hide, lambda s=statement: conn.execute(s).rowcount)
        return updated

    def check(self, dataset_id: str) -> list[str]:
        """What in the database does not match the declaration (missing tables or columns); empty when it
        matches. Raises ``DatasetUnavailable`` when the dataset cannot be reached. Changes nothing."""
        dataset = self.policy.dataset(dataset_id)
        problems: list[str] = []
        with self._connections.begin(dataset) as conn:
            try:
                found = inspect(conn)
                tables = set(found.get_table_names())
                columns = {d.name: {c["name"] for c in found.get_columns(d.name)} for d in dataset.tables
                           if d.name in tables}
            except SQLAlchemyError as exc:
                raise DatasetUnavailable(f"dataset '{dataset.id}': its schema cannot be read: "
                                         f"{staff_message(exc, ())}", dataset_id=dataset.id) from exc
        for declared in dataset.tables:
            if declared.name not in columns:
                problems.append(f"table '{declared.name}' does not exist")
                continue
            problems += [f"table '{declared.name}' has no column '{c}'" for c in declared.columns
                         if c not in columns[declared.name]]
        return problems

    def where(self, dataset_id: str) -> str:
        """The dataset's URL as staff may see it: without its password."""
        return self._connections.shown_url(self.policy.dataset(dataset_id))

    def close(self) -> None:
        self._connections.close()

    def _erase_table(self, conn: Connection, dataset: Dataset, declared: DatasetTable,
                     values: list[str]) -> TableErasure:
        if not values:
            return _untouched(declared)
        statement = self._erasure_statement(dataset, declared)
        if declared.strategy == ErasureStrategy.KEEP:
            rows = _run(dataset, declared, values, lambda: conn.execute(statement, {"values": values}).scalar_one())
            return TableErasure(declared.name, declared.strategy, int(rows), declared.kept_reason)
        if declared.strategy != ErasureStrategy.KEYED_HASH:
            rows = _run(dataset, declared, values, lambda: conn.execute(statement, {"values": values}).rowcount)
            return TableErasure(declared.name, declared.strategy, rows)
        rows = 0
        for value in values:  # each value gets its own hash, so one statement per value
            bound = {"values": [value], "digest": self._digest(declared.identity.kind, value)}
            rows += _run(dataset, declared, values, lambda b=bound: conn.execute(statement, b).rowcount)
        return TableErasure(declared.name, declared.strategy, rows)

    def _read_statement(self, dataset: Dataset, declared: DatasetTable) -> Executable:
        """The table's declared columns of the person's rows, built once (as ``_erasure_statement``)."""
        key = (dataset.id, declared.name)
        built = self._reads.get(key)
        if built is None:
            t = _clause(declared)
            columns = [t.c[c] for c in declared.columns]
            built = self._reads[key] = (select(*columns).order_by(*columns)
                                        .where(_matches(declared, t, bindparam("values", expanding=True))))
        return built

    def _erasure_statement(self, dataset: Dataset, declared: DatasetTable) -> Executable:
        """The table's erasure statement, built once: the person's values (and, for keyed_hash, the digest) are
        bound at run time, so an erasure does not build and key a new statement for every table it touches."""
        key = (dataset.id, declared.name)
        built = self._statements.get(key)
        if built is None:
            built = self._statements[key] = _erasure_statement(declared)
        return built


def audit_erasure(session: Session, clock: Clock, *, actor: str, person_id: UUID, result: ErasureResult) -> None:
    """The audit event of an erasure in a dataset (counts per table), in the caller's transaction."""
    audit.append(session, clock, actor=actor, action="datasets.erased", object_type="person",
                 object_ids=[person_id], details=result.audit_details())


def audit_rectification(session: Session, clock: Clock, *, actor: str, person_id: UUID, dataset_id: str,
                        columns: Sequence[str], rows: int) -> None:
    """The audit event of a rectification in a dataset: which columns and how many rows, never the values."""
    audit.append(session, clock, actor=actor, action="datasets.rectified", object_type="person",
                 object_ids=[person_id], details={"dataset": dataset_id, "columns": sorted(columns), "rows": rows})


def _tables(dataset: Dataset, identities: Sequence[Identity]) -> list[tuple[DatasetTable, list[str]]]:
    """Each table with the person's values for its identity column (none: the table is not searched)."""
    return [(declared, match_values(declared, identities)) for declared in dataset.tables]


def _any_values(work: Sequence[tuple[DatasetTable, list[str]]]) -> bool:
    """Whether anything is to be looked up: a person the dataset cannot name does not wait on its server."""
    return any(values for _, values in work)


def _untouched(declared: DatasetTable) -> TableErasure:
    kept_reason = declared.kept_reason if declared.strategy == ErasureStrategy.KEEP else None
    return TableErasure(declared.name, declared.strategy, 0, kept_reason)


def _clause(declared: DatasetTable) -> TableClause:
    return table(declared.name, *(column(c) for c in declared.columns))


def _erasure_statement(declared: DatasetTable) -> Executable:
    """keep: count the person's rows; delete_row: delete them; null_columns: empty the erased columns;
    keyed_hash: the same, with the identity replaced by the bound ``digest``. ``values`` is bound when run."""
    plan = erasure_plan(declared)
    t = _clause(declared)
    matches = _matches(declared, t, bindparam("values", expanding=True))
    if not plan.changes_rows:
        return select(func.count()).select_from(t).where(matches)
    if declared.strategy == ErasureStrategy.DELETE_ROW:
        return delete(t).where(matches)
    emptied: dict[str, Any] = dict.fromkeys(plan.nulled)
    if plan.hashed is not None:
        emptied[plan.hashed] = bindparam("digest")
    return update(t).where(matches).values(emptied)


def _matches(declared: DatasetTable, t: TableClause, values: list[str] | BindParameter[Any]) -> ColumnElement[bool]:
    identity = t.c[declared.identity.column]
    if declared.identity.kind == IdentityKind.EMAIL:
        return func.lower(identity).in_(values)
    if declared.identity.kind == IdentityKind.EMPLOYEE_NUMBER:
        return func.upper(identity).in_(values)
    return identity.in_(values)


def _run(dataset: Dataset, declared: DatasetTable, hide: Sequence[str], step: Callable[..., R]) -> R:
    """Run one statement; a database error rolls the dataset's transaction back and is told to staff. ``step`` is
    called without arguments (a loop's values are bound as its parameters' defaults)."""
    try:
        return step()
    except SQLAlchemyError as exc:
        lost = isinstance(exc, DBAPIError) and exc.connection_invalidated
        why = "lost its connection" if lost else "does not match its declaration or refused the change"
        raise DatasetUnavailable(
            f"dataset '{dataset.id}', table '{declared.name}' {why}: {staff_message(exc, hide)}; nothing was "
            "changed in this dataset and the request waits to be tried again", dataset_id=dataset.id) from exc
