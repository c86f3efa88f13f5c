"""complaints (R-GOV-2): the register, its sealed correspondence and the privacy centre's codes

Revision ID: 0022_complaints
Revises: 0021_breaches
Create Date: 2026-12-02 05:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import kluis.db

revision: str = "0022_complaints"
down_revision: str | None = "0021_breaches"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "complaint",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("received_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deadline_on", sa.Date(), nullable=False),
        sa.Column("deadline_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("claimed_person_id", sa.Uuid(), nullable=True),
        sa.Column("address_key", sa.String(length=64), nullable=True),
        sa.Column("request_id", sa.Uuid(), nullable=True),
        sa.Column("breach_ref", sa.String(length=64), nullable=True),
        sa.Column("staff_reference", sa.String(length=80), nullable=True),
        sa.Column("handler_id", sa.Uuid(), nullable=True),
        sa.Column("key_owner_id", sa.Uuid(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("reminders_sent", sa.JSON(), nullable=False),
        sa.Column("answered_at", kluis.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_complaint_person_id_person"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["claimed_person_id"], ["person.id"],
                                name=op.f("fk_complaint_claimed_person_id_person"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["request_id"], ["data_subject_request.id"],
                                name=op.f("fk_complaint_request_id_data_subject_request"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["handler_id"], ["staff_account.id"],
                                name=op.f("fk_complaint_handler_id_staff_account"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint")),
    )
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.create_index("ix_complaint_state_deadline", ["state", "deadline_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaint_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaint_request_id"), ["request_id"], unique=False)
    tables: tuple[tuple[str, list[sa.Column[Any]]], ...] = (
        ("complaint_message", [sa.Column("seq", sa.Integer(), nullable=False),
                               sa.Column("kind", sa.String(length=12), nullable=False),
                               sa.Column("sealed", sa.LargeBinary(), nullable=False),
                               sa.Column("by", sa.String(length=64), nullable=False),
                               sa.Column("at", kluis.db.UTCDateTime(timezone=True), nullable=False)]),
        ("complaint_code", [sa.Column("digest", sa.String(length=64), nullable=False),
                            sa.Column("tries", sa.Integer(), nullable=False),
                            sa.Column("created_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
                            sa.Column("expires_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
                            sa.Column("used_at", kluis.db.UTCDateTime(timezone=True), nullable=True)]))
    for table, columns in tables:
        op.create_table(
            table,
            sa.Column("id", sa.Uuid(), nullable=False),
            sa.Column("complaint_id", sa.Uuid(), nullable=False),
            *columns,
            sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"],
                                    name=op.f(f"fk_{table}_complaint_id_complaint"), ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            *([sa.UniqueConstraint("complaint_id", "seq", name=op.f("uq_complaint_message_complaint_id_seq"))]
              if table == "complaint_message" else []),
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f"ix_{table}_complaint_id"), ["complaint_id"], unique=False)


def downgrade() -> None:
    for table in ("complaint_code", "complaint_message"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_complaint_id"))
        op.drop_table(table)
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_request_id"))
        batch_op.drop_index(batch_op.f("ix_complaint_person_id"))
        batch_op.drop_index("ix_complaint_state_deadline")
    op.drop_table("complaint")
