"""erasure: jobs and certificates, the person's erasure time, the sealed address of a last notice

Revision ID: 0007_erasure
Revises: 0006_rights
Create Date: 2026-11-25 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kluis.db

revision: str = "0007_erasure"
down_revision: str | None = "0006_rights"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erasure_job",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", kluis.db.UTCDateTime(), nullable=False),
        sa.Column("locked_until", kluis.db.UTCDateTime(), nullable=True),
        sa.Column("locked_by", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("certificate", sa.Text(), nullable=True),
        sa.Column("created_at", kluis.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", kluis.db.UTCDateTime(), nullable=False),
        sa.Column("finished_at", kluis.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["data_subject_request.id"],
                                name=op.f("fk_erasure_job_request_id_data_subject_request")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_job")),
        sa.UniqueConstraint("request_id", name=op.f("uq_erasure_job_request_id")),
    )
    op.create_index("ix_erasure_job_state_next", "erasure_job", ["state", "next_attempt_at"], unique=False)
    op.create_index(op.f("ix_erasure_job_person_id"), "erasure_job", ["person_id"], unique=False)
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("erased_at", kluis.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("sealed_to", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("sealed_to")
    with op.batch_alter_table("person") as batch:
        batch.drop_column("erased_at")
    op.drop_index(op.f("ix_erasure_job_person_id"), table_name="erasure_job")
    op.drop_index("ix_erasure_job_state_next", table_name="erasure_job")
    op.drop_table("erasure_job")
