"""record: the retention sweep's walk has an index of its own, (due_at, person_id, id)

The sweep walks the due records in (due_at, person_id, id) order, a batch at a time (issue 20 item 2). With an
index on due_at alone each batch read every record still due and sorted them to find its own; with the walk's
key in one index a batch reads only its rows' keys, in order, from the index. The index on due_at alone goes:
the new one starts with it.

Revision ID: 0034_record_due_walk
Revises: 0033_person_keys
Create Date: 2026-12-03 09:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0034_record_due_walk"
down_revision: str | None = "0033_person_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.create_index("ix_record_due", ["due_at", "person_id", "id"], unique=False)
        batch_op.drop_index("ix_record_due_at")


def downgrade() -> None:
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.create_index("ix_record_due_at", ["due_at"], unique=False)
        batch_op.drop_index("ix_record_due")
