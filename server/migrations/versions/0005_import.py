"""import: credits proposed from imported posts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("artwork_id", sa.Integer(), nullable=False),
        sa.Column("copy_id", sa.Integer(), nullable=True),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("handle", sa.String(length=255), nullable=False),
        sa.Column("found", sa.String(length=300), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), server_default="open", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.current_timestamp(),
        ),
        sa.ForeignKeyConstraint(
            ["artwork_id"],
            ["artworks.id"],
            name=op.f("fk_credit_proposals_artwork_id_artworks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["copy_id"],
            ["copies.id"],
            name=op.f("fk_credit_proposals_copy_id_copies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_credit_proposals_person_id_people"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_proposals")),
        sa.UniqueConstraint(
            "artwork_id",
            "platform",
            "handle",
            name=op.f("uq_credit_proposals_artwork_id_platform_handle"),
        ),
    )
    with op.batch_alter_table("credit_proposals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_proposals_artwork_id"), ["artwork_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("credit_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_proposals_artwork_id"))
    op.drop_table("credit_proposals")
