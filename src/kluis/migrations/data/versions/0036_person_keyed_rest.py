"""The last tables outside the person's keyed ones that referred to ``person`` (issue 20 item 3, R-VLT-1): a
distributed PostgreSQL refuses a local table referencing a distributed one, so each either becomes the person's or
stops referring:

- ``breach_person`` and ``authority_order_person`` (which people a breach affected, which an order names) are a
  person's data, one row per person: keyed ``(person_id, breach_id)`` and ``(person_id, order_id)``, person first,
  with an index on (breach, person) and (order, person), by which a breach or an order pages through its people;
- ``complaint``, ``legal_hold`` and ``person_session`` are registers and sessions that name a person, looked up by
  their own id or token: they keep the person's id without a foreign key. People are never deleted (erasure
  shreds the person's key and keeps the row), so no cascade went with it.

Revision ID: 0036_person_keyed_rest
Revises: 0035_staff_language
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0036_person_keyed_rest"
down_revision: str | None = "0035_staff_language"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column) -> what deleting the person did to the row, while it had a foreign key.
_NAMING = {
    ("complaint", "person_id"): "SET NULL",
    ("complaint", "claimed_person_id"): "SET NULL",
    ("legal_hold", "person_id"): "CASCADE",
    ("person_session", "person_id"): "CASCADE",
}
# Table -> the other column of its key, which had it first.
_LISTS = {"breach_person": "breach_id", "authority_order_person": "order_id"}


def upgrade() -> None:
    for table in dict.fromkeys(t for t, _ in _NAMING):
        with op.batch_alter_table(table) as batch:
            for (owner, column), _ in _NAMING.items():
                if owner == table:
                    batch.drop_constraint(op.f(f"fk_{table}_{column}_person"), type_="foreignkey")
    for table, other in _LISTS.items():
        with op.batch_alter_table(table) as batch:
            if table == "authority_order_person":
                batch.drop_index(op.f("ix_authority_order_person_person_id"))
            batch.drop_constraint(op.f(f"pk_{table}"), type_="primary")
            batch.create_primary_key(op.f(f"pk_{table}"), ["person_id", other])
            batch.create_index(op.f(f"ix_{table}_{other}"), [other, "person_id"])


def downgrade() -> None:
    for table, other in _LISTS.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_index(op.f(f"ix_{table}_{other}"))
            batch.drop_constraint(op.f(f"pk_{table}"), type_="primary")
            batch.create_primary_key(op.f(f"pk_{table}"), [other, "person_id"])
            if table == "authority_order_person":
                batch.create_index(op.f("ix_authority_order_person_person_id"), ["person_id"])
    for table in dict.fromkeys(t for t, _ in _NAMING):
        with op.batch_alter_table(table) as batch:
            for (owner, column), ondelete in _NAMING.items():
                if owner == table:
                    batch.create_foreign_key(
                        op.f(f"fk_{table}_{column}_person"), "person", [column], ["id"], ondelete=ondelete
                    )
