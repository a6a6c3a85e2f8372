"""the limits each measurement was judged against when it was taken (LSL/USL): the lot view, the
hold form and SPC read them from the ledger, not from a route file that may have changed since

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 03:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('measurements') as batch:
        batch.add_column(sa.Column('lsl', sa.Float(), nullable=True))
        batch.add_column(sa.Column('usl', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('measurements') as batch:
        batch.drop_column('usl')
        batch.drop_column('lsl')
