"""registry_conflicts: who decided (decided_by) and the later owner's appeal

``decided_by`` is "owner" or "operator"; conflicts decided before this revision keep NULL
(unknown), so they cannot be appealed through the API (an operator can still re-decide them).
``appealed_at``/``appeal_reason`` record the one appeal of an owner's ``kept_first``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("registry_conflicts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decided_by", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("appealed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("appeal_reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("registry_conflicts", schema=None) as batch_op:
        batch_op.drop_column("appeal_reason")
        batch_op.drop_column("appealed_at")
        batch_op.drop_column("decided_by")
