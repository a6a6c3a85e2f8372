"""indexes for the dispatcher: a tool's newest event and its step count stay cheap as the ledger grows

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 17:10:00
"""
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_events_entity_newest', 'events', ['entity', 'entity_id', 'id'])
    op.create_index('ix_step_runs_tool_id', 'step_runs', ['tool_id'])


def downgrade() -> None:
    op.drop_index('ix_step_runs_tool_id', table_name='step_runs')
    op.drop_index('ix_events_entity_newest', table_name='events')
