"""batch jobs: a waiting step says which others may share its job (kind + recipe body), how many
wafers it brings and what the leader records for it; a step taken into another's job is BATCHED;
a job id is no longer one step run's alone (a batch job's is every lot's in it)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 23:40:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # the constraint was created unnamed: the naming convention names it so the copy drops it
        with op.batch_alter_table('step_runs', naming_convention={"uq": "uq_%(table_name)s_%(column_0_name)s"}) as t:
            t.drop_constraint('uq_step_runs_job_id', type_='unique')
    else:
        op.drop_constraint('step_runs_job_id_key', 'step_runs', type_='unique')
    op.create_index('ix_step_runs_job_id', 'step_runs', ['job_id'])
    with op.batch_alter_table('dispatch_requests') as t:
        t.add_column(sa.Column('batch_key', sa.String(96), nullable=True))
        t.add_column(sa.Column('wafer_count', sa.Integer(), nullable=False, server_default='0'))
        t.add_column(sa.Column('member', sa.JSON(), nullable=True))
        t.add_column(sa.Column('batch_of', sa.String(128), nullable=True))


def downgrade() -> None:
    op.drop_index('ix_step_runs_job_id', 'step_runs')
    with op.batch_alter_table('step_runs') as t:
        t.create_unique_constraint('step_runs_job_id_key', ['job_id'])
    with op.batch_alter_table('dispatch_requests') as t:
        for name in ('batch_of', 'member', 'wafer_count', 'batch_key'):
            t.drop_column(name)
