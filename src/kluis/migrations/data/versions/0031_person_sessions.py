"""Mijn privacy: a person's sign-in codes and sessions (R-DSR-1, docs/mijn-privacy.md). Ids, keyed digests and
times only: the address, the code and the cookie tokens are never stored.

Revision ID: 0031_person_sessions
Revises: 0030_partial_erasure
Create Date: 2026-12-02 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kluis.db

revision: str = "0031_person_sessions"
down_revision: str | None = "0030_partial_erasure"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person_sign_in",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("browser_key", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("created_at", kluis.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", kluis.db.UTCDateTime(), nullable=False),
        sa.Column("used_at", kluis.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_person_sign_in_person_id_person"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_sign_in")),
        sa.UniqueConstraint("browser_key", name=op.f("uq_person_sign_in_browser_key")),
    )
    op.create_index(op.f("ix_person_sign_in_person_id"), "person_sign_in", ["person_id"])
    op.create_index(op.f("ix_person_sign_in_expires_at"), "person_sign_in", ["expires_at"])
    op.create_table(
        "person_session",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_key", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", kluis.db.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", kluis.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", kluis.db.UTCDateTime(), nullable=False),
        sa.Column("ended_at", kluis.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_person_session_person_id_person"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_session")),
        sa.UniqueConstraint("token_key", name=op.f("uq_person_session_token_key")),
    )
    op.create_index(op.f("ix_person_session_person_id"), "person_session", ["person_id"])
    op.create_index(op.f("ix_person_session_expires_at"), "person_session", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_person_session_expires_at"), table_name="person_session")
    op.drop_index(op.f("ix_person_session_person_id"), table_name="person_session")
    op.drop_table("person_session")
    op.drop_index(op.f("ix_person_sign_in_expires_at"), table_name="person_sign_in")
    op.drop_index(op.f("ix_person_sign_in_person_id"), table_name="person_sign_in")
    op.drop_table("person_sign_in")
