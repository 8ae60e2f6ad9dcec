"""edit propagation

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table("artworks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))

    with op.batch_alter_table("copies", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("synced_revision", sa.Integer(), nullable=False, server_default="1")
        )

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=8), nullable=False, server_default="post")
        )
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))
        batch_op.drop_constraint(batch_op.f("uq_deliveries_artwork_id_account_id"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_deliveries_artwork_id_account_id_kind_revision"),
            ["artwork_id", "account_id", "kind", "revision"],
        )


def downgrade() -> None:

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_deliveries_artwork_id_account_id_kind_revision"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_deliveries_artwork_id_account_id"), ["artwork_id", "account_id"]
        )
        batch_op.drop_column("revision")
        batch_op.drop_column("kind")

    with op.batch_alter_table("copies", schema=None) as batch_op:
        batch_op.drop_column("synced_revision")

    with op.batch_alter_table("artworks", schema=None) as batch_op:
        batch_op.drop_column("revision")
