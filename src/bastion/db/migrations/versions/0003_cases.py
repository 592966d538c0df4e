"""cases: cases, items, events, feedback, exposure, preferences

Revision ID: 0003_cases
Revises: 0002
Create Date: 2026-11-28 16:58:40.811480
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = '0003_cases'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('entry_feedback',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reviewer', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('disabled_entry', sa.Boolean(), nullable=False),
    sa.Column('at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entry_feedback'))
    )
    with op.batch_alter_table('entry_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entry_feedback_entry_id'), ['entry_id'], unique=False)

    op.create_table('cases',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('opened_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removal_due_at', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('removal_policy', sa.String(length=100), nullable=False),
    sa.Column('claimed_by', sa.Integer(), nullable=True),
    sa.Column('claim_expires_at', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('escalated_by', sa.Integer(), nullable=True),
    sa.Column('classification', sa.String(length=8), nullable=False),
    sa.Column('closed_at', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['claimed_by'], ['users.id'], name=op.f('fk_cases_claimed_by_users')),
    sa.ForeignKeyConstraint(['escalated_by'], ['users.id'], name=op.f('fk_cases_escalated_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_priority'), ['priority'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_status'), ['status'], unique=False)

    op.create_table('reviewer_exposure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('revealed', sa.Integer(), nullable=False),
    sa.Column('reviewed', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reviewer_exposure_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviewer_exposure')),
    sa.UniqueConstraint('user_id', 'day', name='uq_reviewer_exposure_user_day')
    )
    op.create_table('reviewer_preferences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reviewer_preferences_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviewer_preferences')),
    sa.UniqueConstraint('user_id', 'key', name='uq_reviewer_preferences_user_key')
    )
    op.create_table('case_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=False),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_events_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_events'))
    )
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_events_case_id'), ['case_id'], unique=False)

    op.create_table('case_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('scan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('content_id', sa.String(length=255), nullable=False),
    sa.Column('bank_id', sa.Integer(), nullable=False),
    sa.Column('bank_name', sa.String(length=255), nullable=False),
    sa.Column('bank_source', sa.String(length=255), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('signal_type', sa.String(length=32), nullable=False),
    sa.Column('distance', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('media_ref', sa.String(length=100), nullable=False),
    sa.Column('added_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('viewed', sa.Boolean(), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('classification', sa.String(length=8), nullable=False),
    sa.Column('annotations', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_items_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_case_items_decided_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_items')),
    sa.UniqueConstraint('case_id', 'scan_id', name='uq_case_items_case_scan')
    )
    with op.batch_alter_table('case_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_items_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_items_scan_id'), ['scan_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('case_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_items_scan_id'))
        batch_op.drop_index(batch_op.f('ix_case_items_case_id'))

    op.drop_table('case_items')
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_events_case_id'))

    op.drop_table('case_events')
    op.drop_table('reviewer_preferences')
    op.drop_table('reviewer_exposure')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_status'))
        batch_op.drop_index(batch_op.f('ix_cases_priority'))
        batch_op.drop_index(batch_op.f('ix_cases_account_id'))

    op.drop_table('cases')
    with op.batch_alter_table('entry_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entry_feedback_entry_id'))

    op.drop_table('entry_feedback')
