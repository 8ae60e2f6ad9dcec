"""fingerprints.detail: the 8 × 8 luma grid that verifies a match (docs/FINGERPRINT.md §7b)

Rows stored before it keep NULL and are verified on the colour grid alone.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fingerprints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("detail", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fingerprints", schema=None) as batch_op:
        batch_op.drop_column("detail")
