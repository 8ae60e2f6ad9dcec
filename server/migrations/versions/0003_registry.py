"""attribution registry: registrations, fingerprints, conflicts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "fingerprints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("artwork_id", sa.Integer(), nullable=False),
        sa.Column("image_sha256", sa.String(length=64), nullable=False),
        sa.Column("variant", sa.String(length=8), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("colour", sa.LargeBinary(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.current_timestamp(),
        ),
        sa.ForeignKeyConstraint(
            ["artwork_id"],
            ["artworks.id"],
            name=op.f("fk_fingerprints_artwork_id_artworks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fingerprints")),
    )
    with op.batch_alter_table("fingerprints", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fingerprints_artwork_id"), ["artwork_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_fingerprints_bucket"), ["bucket"], unique=False)

    op.create_table(
        "registrations",
        sa.Column("artwork_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.current_timestamp(),
        ),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["artwork_id"],
            ["artworks.id"],
            name=op.f("fk_registrations_artwork_id_artworks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("artwork_id", name=op.f("pk_registrations")),
    )
    op.create_table(
        "registry_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("artwork_id", sa.Integer(), nullable=False),
        sa.Column("existing_artwork_id", sa.Integer(), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="open", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.current_timestamp(),
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["artwork_id"],
            ["artworks.id"],
            name=op.f("fk_registry_conflicts_artwork_id_artworks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["existing_artwork_id"],
            ["artworks.id"],
            name=op.f("fk_registry_conflicts_existing_artwork_id_artworks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_conflicts")),
        sa.UniqueConstraint(
            "artwork_id",
            "existing_artwork_id",
            name=op.f("uq_registry_conflicts_artwork_id_existing_artwork_id"),
        ),
    )
    with op.batch_alter_table("registry_conflicts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_conflicts_artwork_id"), ["artwork_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_conflicts_existing_artwork_id"),
            ["existing_artwork_id"],
            unique=False,
        )


def downgrade() -> None:

    with op.batch_alter_table("registry_conflicts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_conflicts_existing_artwork_id"))
        batch_op.drop_index(batch_op.f("ix_registry_conflicts_artwork_id"))

    op.drop_table("registry_conflicts")
    op.drop_table("registrations")
    with op.batch_alter_table("fingerprints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fingerprints_bucket"))
        batch_op.drop_index(batch_op.f("ix_fingerprints_artwork_id"))

    op.drop_table("fingerprints")
