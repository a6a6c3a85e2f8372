"""the dispatch queue: each step waiting for a tool, with what the dispatcher ranks it by (priority,
steps to the bottleneck, its queue-time deadline)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 21:20:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'dispatch_requests',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('holder', sa.String(128), nullable=False, unique=True),
        sa.Column('lot_id', sa.String(64), nullable=False),
        sa.Column('step_id', sa.String(32), nullable=False),
        sa.Column('kind', sa.String(32), nullable=False),
        sa.Column('tools', sa.JSON(), nullable=False),
        sa.Column('priority', sa.Integer(), nullable=False),
        sa.Column('to_bottleneck', sa.Integer(), nullable=True),
        sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('limit_s', sa.Float(), nullable=True),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('tool_id', sa.String(32), nullable=True),
        sa.Column('granted_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_dispatch_requests_state_kind', 'dispatch_requests', ['state', 'kind'])


def downgrade() -> None:
    op.drop_index('ix_dispatch_requests_state_kind', 'dispatch_requests')
    op.drop_table('dispatch_requests')
