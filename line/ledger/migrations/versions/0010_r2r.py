"""run-to-run control: each controller's estimate per (recipe version, tool), and every derived recipe
with its parent, the value sent, the estimate and the measurement behind it

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 09:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'r2r_states',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('recipe', sa.String(80), nullable=False),
        sa.Column('tool_id', sa.String(32), nullable=False),
        sa.Column('knob', sa.String(64), nullable=False),
        sa.Column('model', sa.String(16), nullable=False),
        sa.Column('estimate', sa.Float(), nullable=False),
        sa.Column('lots', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('recipe', 'tool_id', name='uq_r2r_state'),
    )
    op.create_table(
        'r2r_adjustments',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('job_id', sa.String(128), nullable=False, unique=True),
        sa.Column('lot_id', sa.String(64), nullable=False),
        sa.Column('step_id', sa.String(32), nullable=False),
        sa.Column('tool_id', sa.String(32), nullable=False),
        sa.Column('recipe', sa.String(80), nullable=False),
        sa.Column('parent_sha256', sa.String(64), nullable=False),
        sa.Column('parent_body_sha256', sa.String(64), nullable=False),
        sa.Column('derived_sha256', sa.String(64), nullable=False),
        sa.Column('knob', sa.String(64), nullable=False),
        sa.Column('parent_value', sa.Float(), nullable=False),
        sa.Column('value', sa.Float(), nullable=False),
        sa.Column('clipped', sa.Boolean(), nullable=False),
        sa.Column('target', sa.Float(), nullable=False),
        sa.Column('estimate', sa.Float(), nullable=True),
        sa.Column('basis_job_id', sa.String(128), nullable=False),
        sa.Column('basis_mean', sa.Float(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('measured_mean', sa.Float(), nullable=True),
        sa.Column('measured_n', sa.Integer(), nullable=False),
        sa.Column('estimate_after', sa.Float(), nullable=True),
        sa.Column('fed_back_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_r2r_adjustments_lot_id', 'r2r_adjustments', ['lot_id'])


def downgrade() -> None:
    op.drop_index('ix_r2r_adjustments_lot_id', table_name='r2r_adjustments')
    op.drop_table('r2r_adjustments')
    op.drop_table('r2r_states')
