"""status language, image focus, and the per-artwork sync opt-ins

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("artworks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("repost_stale", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("also_on_links", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("artwork_images", schema=None) as batch_op:
        batch_op.add_column(sa.Column("focus_x", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("focus_y", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("artwork_images", schema=None) as batch_op:
        batch_op.drop_column("focus_y")
        batch_op.drop_column("focus_x")
    with op.batch_alter_table("artworks", schema=None) as batch_op:
        batch_op.drop_column("also_on_links")
        batch_op.drop_column("repost_stale")
        batch_op.drop_column("language")
