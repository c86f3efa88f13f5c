"""api keys: powers beyond their purposes (legal_holds)

Existing keys get none: placing or releasing a legal hold through the API needs a key made with
`kluis keys create --power legal_holds`.

Revision ID: 0011_key_powers
Revises: 0010_disclosures
Create Date: 2026-11-25 23:58:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_key_powers"
down_revision: str | None = "0010_disclosures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.add_column(sa.Column("powers", sa.JSON(), server_default="[]", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_column("powers")
