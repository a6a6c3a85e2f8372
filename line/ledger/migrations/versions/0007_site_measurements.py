"""every site of a metrology wafer map, with where on the wafer it was read (`site_measurements`)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 06:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'site_measurements',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('step_run_id', sa.Integer(), sa.ForeignKey('step_runs.id'), nullable=False),
        sa.Column('wafer_id', sa.String(80), sa.ForeignKey('wafers.id'), nullable=False),
        sa.Column('name', sa.String(64), nullable=False),
        sa.Column('site', sa.Integer(), nullable=False),
        sa.Column('x_mm', sa.Float(), nullable=False),
        sa.Column('y_mm', sa.Float(), nullable=False),
        sa.Column('value', sa.Float(), nullable=False),
        sa.Column('unit', sa.String(16), nullable=False),
        sa.UniqueConstraint('step_run_id', 'wafer_id', 'name', 'site', name='uq_site_once'),
    )
    op.create_index('ix_site_measurements_step_run_id', 'site_measurements', ['step_run_id'])


def downgrade() -> None:
    op.drop_index('ix_site_measurements_step_run_id', table_name='site_measurements')
    op.drop_table('site_measurements')
