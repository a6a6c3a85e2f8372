"""an alarm stays open until the tool reports it cleared (`cleared_at`); an operator's
acknowledgement (who, when, note) is recorded beside it and changes nothing else

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 04:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alarms') as batch:
        batch.add_column(sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('acknowledged_by', sa.String(64), nullable=False, server_default=''))
        batch.add_column(sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('ack_note', sa.Text(), nullable=False, server_default=''))
    op.create_index('ix_alarms_open', 'alarms', ['tool_id', 'cleared_at'])


def downgrade() -> None:
    op.drop_index('ix_alarms_open', table_name='alarms')
    with op.batch_alter_table('alarms') as batch:
        batch.drop_column('ack_note')
        batch.drop_column('acknowledged_at')
        batch.drop_column('acknowledged_by')
        batch.drop_column('cleared_at')
