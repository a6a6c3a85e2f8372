"""maintenance: actions on a tool's consumables and the periods it was taken down (who, when, E10 state)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 08:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'maintenance',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('tool_id', sa.String(32), nullable=False),
        sa.Column('action', sa.String(32), nullable=False),
        sa.Column('item', sa.String(32), nullable=False),
        sa.Column('e10', sa.String(24), nullable=False),
        sa.Column('by', sa.String(64), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_by', sa.String(64), nullable=False),
    )
    op.create_index('ix_maintenance_tool', 'maintenance', ['tool_id', 'ended_at'])


def downgrade() -> None:
    op.drop_index('ix_maintenance_tool', table_name='maintenance')
    op.drop_table('maintenance')
