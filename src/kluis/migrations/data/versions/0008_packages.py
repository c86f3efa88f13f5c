"""packages, rectifications, recipients as mail recipients, request outcomes in the gate

Revision ID: 0008_packages
Revises: 0007_erasure
Create Date: 2026-11-25 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kluis.db

revision: str = "0008_packages"
down_revision: str | None = "0007_erasure"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ONE_RECIPIENT = ("(CASE WHEN person_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN staff_id IS NULL THEN 0 ELSE 1 END)"
                 " + (CASE WHEN party IS NULL THEN 0 ELSE 1 END) = 1")
OLD_ONE_RECIPIENT = "(person_id IS NULL) <> (staff_id IS NULL)"


def upgrade() -> None:
    op.create_table(
        "access_package",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("portability", sa.Boolean(), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", kluis.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=64), nullable=True),
        sa.Column("locked_by", sa.String(length=32), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.Column("created_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ready_at", kluis.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", kluis.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", kluis.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_access_package_person_id_person"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["request_id"], ["data_subject_request.id"],
                                name=op.f("fk_access_package_request_id_data_subject_request"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_package")),
    )
    with op.batch_alter_table("access_package", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_package_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_package_request_id"), ["request_id"], unique=False)
        batch_op.create_index("ix_access_package_state_next_attempt_at", ["state", "next_attempt_at"], unique=False)

    op.create_table(
        "access_package_chunk",
        sa.Column("package_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["package_id"], ["access_package.id"],
                                name=op.f("fk_access_package_chunk_package_id_access_package"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("package_id", "seq", name=op.f("pk_access_package_chunk")),
    )
    op.create_table(
        "rectification",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("by", sa.String(length=12), nullable=False),
        sa.Column("told", sa.JSON(), nullable=False),
        sa.Column("at", kluis.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_rectification_person_id_person"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["record_id"], ["record.id"], name=op.f("fk_rectification_record_id_record"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["request_id"], ["data_subject_request.id"],
                                name=op.f("fk_rectification_request_id_data_subject_request"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectification")),
    )
    with op.batch_alter_table("rectification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rectification_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rectification_request_id"), ["request_id"], unique=False)

    # Plain columns (no table rebuild on SQLite, which would cascade into the verification codes).
    op.add_column("data_subject_request", sa.Column("restriction_id", sa.Uuid(), nullable=True))
    op.add_column("data_subject_request", sa.Column("objection_id", sa.Uuid(), nullable=True))

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("party", sa.String(length=80), nullable=True))
        batch_op.drop_constraint(op.f("ck_outbox_one_recipient"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_one_recipient"), sa.text(ONE_RECIPIENT))


def downgrade() -> None:
    op.execute("DELETE FROM outbox WHERE party IS NOT NULL")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_one_recipient"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_one_recipient"), sa.text(OLD_ONE_RECIPIENT))
        batch_op.drop_column("party")
    op.drop_column("data_subject_request", "objection_id")
    op.drop_column("data_subject_request", "restriction_id")
    with op.batch_alter_table("rectification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rectification_request_id"))
        batch_op.drop_index(batch_op.f("ix_rectification_person_id"))
    op.drop_table("rectification")
    op.drop_table("access_package_chunk")
    with op.batch_alter_table("access_package", schema=None) as batch_op:
        batch_op.drop_index("ix_access_package_state_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_access_package_request_id"))
        batch_op.drop_index(batch_op.f("ix_access_package_person_id"))
    op.drop_table("access_package")
