"""employers as controllers: each employer's privacy contact and the service agreement under which benVitaal is its
processor; a forwarded request remembers when the employer was mailed, and the employer's instruction is sealed
with the person's data key and names who recorded it, and a package made before it holds benVitaal's own data only
(R-DSR-8, docs/employers.md); `party_notice` records each
Art. 19 notice to a recipient or processor, mailed or left for staff (R-DSR-5, R-DSR-6, R-SHR-1)

An instruction recorded before this revision was plain text; the keys are not available to a migration, so it
cannot be sealed here. Its text is removed (plain text at rest is what this revision ends); its time stays, and
``instruction_by`` says it predates sealing, so staff know to read it from the employer's own message.

Revision ID: 0029_employer_contacts
Revises: 0028_agreement_reminders
Create Date: 2026-12-02 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kluis.db

revision: str = "0029_employer_contacts"
down_revision: str | None = "0028_agreement_reminders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE_SEALING = "before-sealing"


def upgrade() -> None:
    with op.batch_alter_table("employer") as batch:
        batch.add_column(sa.Column("privacy_contact", sa.String(length=254), nullable=True))
        batch.add_column(sa.Column("agreement_reference", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("agreement_signed_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("agreement_ends_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("updated_at", kluis.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table("data_subject_request") as batch:
        batch.add_column(sa.Column("employer_mailed_at", kluis.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("instruction_sealed", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("instruction_by", sa.String(length=120), nullable=True))
    with op.batch_alter_table("access_package") as batch:
        batch.add_column(sa.Column("controller_only", sa.Boolean(), server_default=sa.false(), nullable=False))
    request = sa.table("data_subject_request", sa.column("employer_instruction", sa.Text()),
                       sa.column("instruction_by", sa.String()))
    op.execute(request.update().where(request.c.employer_instruction.is_not(None))
               .values(instruction_by=BEFORE_SEALING))
    with op.batch_alter_table("data_subject_request") as batch:
        batch.drop_column("employer_instruction")
    op.create_table(
        "party_notice",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("party", sa.String(length=80), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("cause_id", sa.Uuid(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("disclosures", sa.JSON(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("outbox_id", sa.Uuid(), nullable=True),
        sa.Column("at", kluis.db.UTCDateTime(), nullable=False),
        sa.Column("handled_at", kluis.db.UTCDateTime(), nullable=True),
        sa.Column("handled_by", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_party_notice_person_id_person"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_notice")),
    )
    op.create_index("ix_party_notice_person_id", "party_notice", ["person_id"])
    op.create_index("ix_party_notice_channel_handled", "party_notice", ["channel", "handled_at"])


def downgrade() -> None:
    with op.batch_alter_table("access_package") as batch:
        batch.drop_column("controller_only")
    op.drop_index("ix_party_notice_channel_handled", table_name="party_notice")
    op.drop_index("ix_party_notice_person_id", table_name="party_notice")
    op.drop_table("party_notice")
    with op.batch_alter_table("data_subject_request") as batch:
        batch.add_column(sa.Column("employer_instruction", sa.Text(), nullable=True))
        batch.drop_column("instruction_by")
        batch.drop_column("instruction_sealed")
        batch.drop_column("employer_mailed_at")
    with op.batch_alter_table("employer") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("agreement_ends_on")
        batch.drop_column("agreement_signed_on")
        batch.drop_column("agreement_reference")
        batch.drop_column("privacy_contact")
