"""recent tool use: the dispatcher counts a tool's step runs of the last day (its "least used"), not
every run it ever ran — the count was a scan of the tool's whole history, growing with the ledger

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 09:50:00
"""
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_step_runs_tool_id', 'step_runs')
    op.create_index('ix_step_runs_tool_started', 'step_runs', ['tool_id', 'started_at'])


def downgrade() -> None:
    op.drop_index('ix_step_runs_tool_started', 'step_runs')
    op.create_index('ix_step_runs_tool_id', 'step_runs', ['tool_id'])
