"""SPC: the baselines engineers freeze per (step, measurement, tool), and the tools an SPC signal
flagged (open until an engineer clears them)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 07:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'spc_baselines',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('step_id', sa.String(32), nullable=False),
        sa.Column('measurement', sa.String(64), nullable=False),
        sa.Column('tool_id', sa.String(32), nullable=False),
        sa.Column('chart', sa.String(16), nullable=False),
        sa.Column('center', sa.Float(), nullable=False),
        sa.Column('sigma', sa.Float(), nullable=False),
        sa.Column('lots', sa.Integer(), nullable=False),
        sa.Column('first_lot', sa.String(64), nullable=False),
        sa.Column('last_lot', sa.String(64), nullable=False),
        sa.Column('through_step_run_id', sa.Integer(), nullable=False),
        sa.Column('frozen_by', sa.String(64), nullable=False),
        sa.Column('frozen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_spc_baselines_key', 'spc_baselines', ['step_id', 'measurement', 'tool_id'])
    op.create_table(
        'spc_flags',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('tool_id', sa.String(32), nullable=False),
        sa.Column('step_id', sa.String(32), nullable=False),
        sa.Column('measurement', sa.String(64), nullable=False),
        sa.Column('lot_id', sa.String(64), nullable=False),
        sa.Column('step_run_id', sa.Integer(), sa.ForeignKey('step_runs.id'), nullable=False),
        sa.Column('signal', sa.Text(), nullable=False),
        sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('cleared_by', sa.String(64), nullable=False),
        sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('clear_note', sa.Text(), nullable=False),
    )
    op.create_index('ix_spc_flags_open', 'spc_flags', ['tool_id', 'step_id', 'cleared_at'])


def downgrade() -> None:
    op.drop_index('ix_spc_flags_open', table_name='spc_flags')
    op.drop_table('spc_flags')
    op.drop_index('ix_spc_baselines_key', table_name='spc_baselines')
    op.drop_table('spc_baselines')
