"""actions: the enforcement outbox (one row per action owed to the platform)

Revision ID: 0003_actions
Revises: 0002
Create Date: 2026-11-28 17:00:28.162520
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = '0003_actions'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox_actions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('target', sa.String(length=255), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_until', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('leased_by', sa.String(length=100), nullable=False),
    sa.Column('lease_token', sa.String(length=32), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_actions')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbox_actions_idempotency_key'))
    )
    with op.batch_alter_table('outbox_actions', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_actions_status_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_actions_subject'), ['subject'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbox_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_actions_subject'))
        batch_op.drop_index('ix_outbox_actions_status_due')

    op.drop_table('outbox_actions')
