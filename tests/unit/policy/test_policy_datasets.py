"""R-POL-2 for the datasets section (R-DSR-9): a dataset declaration that cannot be kept is refused, with its path."""

from __future__ import annotations

from kluis.policy.schemas import ErasureStrategy, IdentityKind
from kluis.vault.identifiers import IdentifierKind


def _table(lab, dataset_id: str, table: str) -> dict:
    return next(t for t in lab.item("datasets", dataset_id)["tables"] if t["name"] == table)


def test_r_dsr_9_shipped_policy_declares_the_demo_datasets(shipped_policy) -> None:
    assert [d.id for d in shipped_policy.datasets] == ["benmobiel", "webinars"]
    trips = shipped_policy.dataset("benmobiel").table("trips")
    assert (trips.identity.column, trips.identity.kind, trips.strategy) == ("email", "email", "keyed_hash")
    strategies = {t.strategy for d in shipped_policy.datasets for t in d.tables}
    assert strategies == set(ErasureStrategy)


def test_r_dsr_9_identity_kinds_are_the_vaults_identifier_kinds() -> None:
    assert {k.value for k in IdentityKind} == {k.value for k in IdentifierKind}


def test_r_pol_2_dataset_column_with_unknown_category_refused(lab) -> None:
    _table(lab, "webinars", "questions")["columns"]["question"] = "contnet"
    problem = lab.problem("datasets.webinars.tables.questions.columns.question")
    assert problem.code == "unknown_reference"
    assert "unknown category 'contnet' (did you mean 'content'?)" in problem.reason
    line = lab.path.read_text(encoding="utf-8").splitlines()[problem.line - 1]
    assert "question" in line


def test_r_pol_2_dataset_column_with_special_category_refused(lab) -> None:
    _table(lab, "webinars", "questions")["columns"]["question"] = "health"
    assert lab.problem("datasets.webinars.tables.questions.columns.question").code == "special_category"


def test_r_pol_2_dataset_identity_of_unknown_kind_refused(lab) -> None:
    _table(lab, "benmobiel", "trips")["identity"]["kind"] = "e-mail"
    problem = lab.problem("datasets.benmobiel.tables.trips.identity.kind")
    assert problem.code == "unknown_identity_kind"
    assert "did you mean 'email'" in problem.reason


def test_r_pol_2_dataset_identity_column_not_declared_refused(lab) -> None:
    _table(lab, "benmobiel", "trips")["identity"]["column"] = "user_email"
    problem = lab.problem("datasets.benmobiel.tables.trips.identity.column")
    assert problem.code == "identity_not_declared"
    assert "'user_email'" in problem.reason


def test_r_pol_2_dataset_keep_without_reason_refused(lab) -> None:
    del _table(lab, "benmobiel", "mobility_budgets")["kept_reason"]
    problem = lab.problem("datasets.benmobiel.tables.mobility_budgets.kept_reason")
    assert problem.code == "keep_without_reason"
    assert "legal obligation" in problem.reason


def test_r_pol_2_dataset_kept_reason_for_another_strategy_refused(lab) -> None:
    _table(lab, "webinars", "questions")["kept_reason"] = {"nl": "Wettelijke plicht.", "en": "Legal duty."}
    assert lab.problem("datasets.webinars.tables.questions.kept_reason").code == "unused_kept_reason"


def test_r_pol_2_employee_number_identity_needs_its_employer(lab) -> None:
    trips = _table(lab, "benmobiel", "trips")
    trips["identity"] = {"column": "email", "kind": "employee_number"}
    assert lab.problem("datasets.benmobiel.tables.trips.identity.scope").code == "scope_required"
    trips["identity"] = {"column": "email", "kind": "email", "scope": "werkgever"}
    assert lab.problem("datasets.benmobiel.tables.trips.identity.scope").code == "unused_scope"


def test_r_pol_2_dataset_keep_columns_checked(lab) -> None:
    trips = _table(lab, "benmobiel", "trips")
    trips["keep_columns"] = ["email", "distance"]
    problems = {p.code for p in lab.refused() if p.path == "datasets.benmobiel.tables.trips.keep_columns"}
    assert problems == {"identity_kept", "unknown_reference"}
    trips["keep_columns"] = []
    _table(lab, "webinars", "questions")["keep_columns"] = ["question"]
    assert lab.problem("datasets.webinars.tables.questions.keep_columns").code == "unused_keep_columns"


def test_r_pol_2_dataset_table_declared_twice_refused(lab) -> None:
    tables = lab.item("datasets", "webinars")["tables"]
    tables.append(dict(tables[0]))
    assert lab.problem("datasets.webinars.tables.registrations").code == "duplicate_table"


def test_r_pol_2_dataset_unknown_strategy_refused_by_schema(lab) -> None:
    _table(lab, "webinars", "questions")["strategy"] = "delete_rows"
    problem = lab.problem("datasets.webinars.tables.questions.strategy")
    assert problem.code.startswith("schema_")
    assert "did you mean 'delete_row'" in problem.reason
