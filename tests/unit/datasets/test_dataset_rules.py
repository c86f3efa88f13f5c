"""R-DSR-9: the pure rules of the datasets domain: whose rows match, what each strategy changes, safe messages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from kluis.config import DEFAULT_POLICY_FILE
from kluis.datasets.rules import check_changes, erasure_plan, match_values, plain, staff_message
from kluis.kit.errors import Invalid
from kluis.policy.loader import load_policy
from kluis.policy.schemas import DatasetTable, ErasureStrategy


def _table(**changes) -> DatasetTable:
    base = {"name": "trips", "identity": {"column": "email", "kind": "email"},
            "columns": {"email": "basic", "from_place": "basic", "distance_km": "financial"},
            "strategy": "keyed_hash", "keep_columns": ["distance_km"]}
    return DatasetTable.model_validate(base | changes)


def test_r_dsr_9_only_identities_of_the_tables_kind_match() -> None:
    identities = [("email", None, "anna@example.nl"), ("phone", None, "+31612345678"),
                  ("email", "", "a.devries@example.nl")]
    assert match_values(_table(), identities) == ["a.devries@example.nl", "anna@example.nl"]
    phone = _table(identity={"column": "email", "kind": "phone"})
    assert match_values(phone, identities) == ["+31612345678"]


def test_r_dsr_9_employee_numbers_match_only_within_the_tables_employer() -> None:
    table = _table(identity={"column": "email", "kind": "employee_number", "scope": "emp-1"})
    identities = [("employee_number", "emp-1", "E001"), ("employee_number", "emp-2", "E002")]
    assert match_values(table, identities) == ["E001"]


def test_r_dsr_9_each_strategy_has_its_plan() -> None:
    hashed = erasure_plan(_table())
    assert (hashed.hashed, hashed.nulled) == ("email", ("from_place",))
    nulled = erasure_plan(_table(strategy="null_columns"))
    assert (nulled.hashed, nulled.nulled) == (None, ("email", "from_place"))
    assert erasure_plan(_table(strategy="delete_row", keep_columns=[])).changes_rows
    keep = erasure_plan(_table(strategy="keep", keep_columns=[], kept_reason={"nl": "Fiscaal.", "en": "Fiscal."}))
    assert keep.strategy == ErasureStrategy.KEEP and not keep.changes_rows


def test_r_dsr_9_rectification_refuses_undeclared_columns() -> None:
    dataset = load_policy(DEFAULT_POLICY_FILE).dataset("benmobiel")
    with pytest.raises(Invalid) as caught:
        check_changes(dataset, {"full_name": "Anna", "salary": 1})
    assert caught.value.code == "dataset_column_unknown"
    assert [p.path for p in caught.value.problems] == ["changes.salary"]
    assert check_changes(dataset, {"full_name": "Anna"}) == {"mobility_budgets": {"full_name": "Anna"}}
    assert set(check_changes(dataset, {"email": "x@example.nl"})) == {"trips", "mobility_budgets"}
    with pytest.raises(Invalid):
        check_changes(dataset, {})


def test_r_dsr_9_cells_become_json_values() -> None:
    assert plain(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "2026-01-02T03:04:00+00:00"
    assert plain(date(2026, 1, 2)) == "2026-01-02"
    assert plain(Decimal("12.50")) == "12.50"
    assert plain(b"\x00\x01") == "AAE="
    assert plain(7) == 7 and plain(None) is None


def test_r_dsr_9_staff_messages_leave_out_the_persons_values() -> None:
    error = RuntimeError("(1062, \"Duplicate entry 'Anna@Example.nl' for key 'email'\")\nmore detail")
    message = staff_message(error, ["anna@example.nl"])
    assert "anna" not in message.lower()
    assert "Duplicate entry '…'" in message and "more detail" not in message
    assert len(staff_message(RuntimeError("x" * 1000), [])) == 300
