"""cookie consent: banner revisions and receipts (R-CONS-4)

Revision ID: 0004_cookies
Revises: 0003_mail
Create Date: 2026-11-25 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kluis.db

revision: str = "0004_cookies"
down_revision: str | None = "0003_mail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cookie_banner_revision",
        sa.Column("revision", sa.String(length=16), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("first_recorded_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("revision", name=op.f("pk_cookie_banner_revision")),
    )
    op.create_table(
        "cookie_receipt",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("visitor_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("scope", sa.String(length=4), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("granted", sa.JSON(), nullable=False),
        sa.Column("refused", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=6), nullable=False),
        sa.Column("gpc_sources", sa.JSON(), nullable=False),
        sa.Column("objects_to_profiling", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column("given_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("scope IN ('page', 'site')", name=op.f("ck_cookie_receipt_scope")),
        sa.CheckConstraint("action IN ('accept_all', 'reject_all', 'choose')", name=op.f("ck_cookie_receipt_action")),
        sa.CheckConstraint("reason IN ('choice', 'gpc')", name=op.f("ck_cookie_receipt_reason")),
        sa.ForeignKeyConstraint(
            ["revision"], ["cookie_banner_revision.revision"],
            name=op.f("fk_cookie_receipt_revision_cookie_banner_revision"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cookie_receipt")),
    )
    with op.batch_alter_table("cookie_receipt", schema=None) as batch_op:
        batch_op.create_index("ix_cookie_receipt_visitor", ["site", "visitor_digest", "given_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cookie_receipt", schema=None) as batch_op:
        batch_op.drop_index("ix_cookie_receipt_visitor")
    op.drop_table("cookie_receipt")
    op.drop_table("cookie_banner_revision")
