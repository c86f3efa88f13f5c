"""Pure decisions about dataset tables: which rows are the person's and what erasure does to them (R-DSR-9)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from kluis.kit.errors import Invalid, Problem
from kluis.policy.schemas import Dataset, DatasetTable, ErasureStrategy, IdentityKind

# (kind, scope, normalised value), as ``kluis.vault.identifiers.normalise`` gives them; scope only for
# employee numbers (the employer id).
Identity = tuple[str, str | None, str]

MESSAGE_LIMIT = 300


def match_values(table: DatasetTable, identities: Sequence[Identity]) -> list[str]:
    """The values the table's identity column holds for this person, in the form it is compared in.

    E-mail addresses are compared in lower case and employee numbers in upper case (how the vault
    normalises them); phone numbers as E.164. An employee number matches only within the table's employer.
    """
    kind, scope = table.identity.kind, table.identity.scope
    values = {value for k, s, value in identities
              if k == kind and (kind != IdentityKind.EMPLOYEE_NUMBER or (s or None) == scope)}
    return sorted(values)


@dataclass(frozen=True)
class ErasurePlan:
    """What erasure does to one table: delete the rows, or set columns to NULL and/or the keyed hash."""

    strategy: ErasureStrategy
    nulled: tuple[str, ...] = ()
    hashed: str | None = None

    @property
    def changes_rows(self) -> bool:
        return self.strategy != ErasureStrategy.KEEP


def erasure_plan(table: DatasetTable) -> ErasurePlan:
    """``null_columns`` empties every declared column but ``keep_columns``, the identity column too;
    ``keyed_hash`` replaces the identity by its keyed hash and empties the other declared columns, so the
    rows stay countable per (unknown) person but no longer name anyone."""
    erased = tuple(c for c in table.columns if c not in table.keep_columns)
    if table.strategy == ErasureStrategy.NULL_COLUMNS:
        return ErasurePlan(table.strategy, nulled=erased)
    if table.strategy == ErasureStrategy.KEYED_HASH:
        identity = table.identity.column
        return ErasurePlan(table.strategy, nulled=tuple(c for c in erased if c != identity), hashed=identity)
    return ErasurePlan(table.strategy)


def check_changes(dataset: Dataset, changes: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Rectification per table: each changed column goes to every table that declares it; a column no table
    declares is refused (nothing is written)."""
    if not changes:
        raise Invalid("say which columns to correct", code="dataset_changes_empty")
    declared = {c for t in dataset.tables for c in t.columns}
    problems = [Problem(f"changes.{name}", "dataset_column_unknown",
                        f"dataset '{dataset.id}' declares no column '{name}' (declared: {', '.join(sorted(declared))})")
                for name in changes if name not in declared]
    if problems:
        raise Invalid(f"dataset '{dataset.id}' cannot correct undeclared columns", code="dataset_column_unknown",
                      problems=problems)
    per_table = {t.name: {c: v for c, v in changes.items() if c in t.columns} for t in dataset.tables}
    return {name: cols for name, cols in per_table.items() if cols}


def plain(value: Any) -> Any:
    """A cell as JSON can hold it: dates as ISO 8601, decimals as text (exact), bytes as base64."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value


def staff_message(error: BaseException, hide: Iterable[str]) -> str:
    """The first line of a database error, for staff: values of the person are cut out (some servers quote
    the offending value, e.g. MySQL's duplicate-entry error), and long messages are shortened."""
    orig = getattr(error, "orig", None) or error
    text = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    for value in sorted({str(v) for v in hide if v is not None and str(v)}, key=len, reverse=True):
        text = re.sub(re.escape(value), "…", text, flags=re.IGNORECASE)
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT - 1] + "…"
