"""leases hold lots as well as tools: a longer key

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 13:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tool_leases') as batch:
        batch.alter_column('tool_id', existing_type=sa.String(length=32), type_=sa.String(length=80))


def downgrade() -> None:
    with op.batch_alter_table('tool_leases') as batch:
        batch.alter_column('tool_id', existing_type=sa.String(length=80), type_=sa.String(length=32))
