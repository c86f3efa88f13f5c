"""authority orders (R-SHR-3): refused informal requests, orders with their sealed document, the people they
name, their sealed exports; a disclosure names the order it was made under and until when it is withheld

Revision ID: 0023_orders
Revises: 0022_complaints
Create Date: 2026-12-02 05:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kluis.db

revision: str = "0023_orders"
down_revision: str | None = "0022_complaints"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table("authority_order",
    sa.Column("id", sa.Uuid(), nullable=False),
    sa.Column("state", sa.String(length=12), nullable=False),
    sa.Column("party", sa.String(length=80), nullable=False),
    sa.Column("legal_basis", sa.String(length=200), nullable=False),
    sa.Column("reference", sa.String(length=80), nullable=False),
    sa.Column("order_date", sa.Date(), nullable=False),
    sa.Column("defer_until", sa.Date(), nullable=True),
    sa.Column("categories", sa.JSON(), nullable=False),
    sa.Column("document_key", sa.LargeBinary(), nullable=False),
    sa.Column("document_ciphertext", sa.LargeBinary(), nullable=False),
    sa.Column("document_sha256", sa.String(length=64), nullable=False),
    sa.Column("document_size", sa.Integer(), nullable=False),
    sa.Column("recorded_by", sa.String(length=120), nullable=False),
    sa.Column("recorded_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column("decided_by", sa.String(length=120), nullable=True),
    sa.Column("decided_at", kluis.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column("reasons_ciphertext", sa.LargeBinary(), nullable=True),
    sa.Column("disclosed_at", kluis.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('recorded', 'approved', 'rejected')", name=op.f("ck_authority_order_state")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_authority_order"))
    )
    with op.batch_alter_table("authority_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_authority_order_recorded_at"), ["recorded_at"], unique=False)

    op.create_table("authority_refusal",
    sa.Column("id", sa.Uuid(), nullable=False),
    sa.Column("authority", sa.String(length=120), nullable=False),
    sa.Column("asked_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column("answer_ciphertext", sa.LargeBinary(), nullable=False),
    sa.Column("recorded_by", sa.String(length=120), nullable=False),
    sa.Column("recorded_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_authority_refusal"))
    )
    with op.batch_alter_table("authority_refusal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_authority_refusal_recorded_at"), ["recorded_at"], unique=False)

    op.create_table("authority_order_export",
    sa.Column("id", sa.Uuid(), nullable=False),
    sa.Column("order_id", sa.Uuid(), nullable=False),
    sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
    sa.Column("size", sa.Integer(), nullable=False),
    sa.Column("people", sa.Integer(), nullable=False),
    sa.Column("records", sa.Integer(), nullable=False),
    sa.Column("created_by", sa.String(length=120), nullable=False),
    sa.Column("created_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column("expires_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column("downloads", sa.Integer(), nullable=False),
    sa.Column("last_download_at", kluis.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column("deleted_at", kluis.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(["order_id"], ["authority_order.id"],
        name=op.f("fk_authority_order_export_order_id_authority_order"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_authority_order_export"))
    )
    with op.batch_alter_table("authority_order_export", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_authority_order_export_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_authority_order_export_order_id"), ["order_id"], unique=False)

    op.create_table("authority_order_person",
    sa.Column("order_id", sa.Uuid(), nullable=False),
    sa.Column("person_id", sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(["order_id"], ["authority_order.id"],
        name=op.f("fk_authority_order_person_order_id_authority_order"), ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["person_id"], ["person.id"],
        name=op.f("fk_authority_order_person_person_id_person"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("order_id", "person_id", name=op.f("pk_authority_order_person"))
    )
    with op.batch_alter_table("authority_order_person", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_authority_order_person_person_id"), ["person_id"], unique=False)

    with op.batch_alter_table("disclosure", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("withheld_until", kluis.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_disclosure_order_id"), ["order_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_disclosure_order_id_authority_order"), "authority_order",
                                    ["order_id"], ["id"])



def downgrade() -> None:
    with op.batch_alter_table("disclosure", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_disclosure_order_id_authority_order"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_disclosure_order_id"))
        batch_op.drop_column("withheld_until")
        batch_op.drop_column("order_id")

    with op.batch_alter_table("authority_order_person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authority_order_person_person_id"))

    op.drop_table("authority_order_person")
    with op.batch_alter_table("authority_order_export", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authority_order_export_order_id"))
        batch_op.drop_index(batch_op.f("ix_authority_order_export_expires_at"))

    op.drop_table("authority_order_export")
    with op.batch_alter_table("authority_refusal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authority_refusal_recorded_at"))

    op.drop_table("authority_refusal")
    with op.batch_alter_table("authority_order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authority_order_recorded_at"))

    op.drop_table("authority_order")
