"""appeals against enforcement, the notices (statements of reasons, decisions) owed to account holders, and the
hashes of a file sent with a complaint

Revision ID: 0018_appeals
Revises: 0017_complaints
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = '0018_appeals'
down_revision = '0017_complaints'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('account_notices',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('jurisdiction', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('withheld_reason', sa.Text(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=True),
    sa.Column('created_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_notices')),
    sa.UniqueConstraint('reference', name=op.f('uq_account_notices_reference'))
    )
    with op.batch_alter_table('account_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_notices_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_notices_subject'), ['subject'], unique=False)

    op.create_table('appeals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.String(length=255), nullable=False),
    sa.Column('notice_reference', sa.String(length=64), nullable=False),
    sa.Column('grounds', sa.Text(), nullable=False),
    sa.Column('jurisdiction', sa.String(length=16), nullable=False),
    sa.Column('submitted_by', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('decision_text', sa.Text(), nullable=False),
    sa.Column('received_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_appeals_case_id_cases')),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_appeals_decided_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeals')),
    sa.UniqueConstraint('reference', name=op.f('uq_appeals_reference'))
    )
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appeals_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appeals_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appeals_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_appeals_status'), ['status'], unique=False)



    op.add_column("complaints", sa.Column("media_md5", sa.String(length=32), server_default="", nullable=False))
    op.add_column("complaints", sa.Column("media_pdq", sa.String(length=64), server_default="", nullable=False))
    op.add_column("complaints", sa.Column("media_findings", sa.JSON(), nullable=True))
    op.add_column("complaints", sa.Column("next_due_at", bastion.db.base.UTCDateTime(timezone=True), nullable=True))
    op.create_index(op.f("ix_complaints_next_due_at"), "complaints", ["next_due_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_complaints_next_due_at"), table_name="complaints")
    with op.batch_alter_table("complaints") as batch:
        batch.drop_column("next_due_at")
        batch.drop_column("media_findings")
        batch.drop_column("media_pdq")
        batch.drop_column("media_md5")
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appeals_status'))
        batch_op.drop_index(batch_op.f('ix_appeals_due_at'))
        batch_op.drop_index(batch_op.f('ix_appeals_case_id'))
        batch_op.drop_index(batch_op.f('ix_appeals_account_id'))

    op.drop_table('appeals')
    with op.batch_alter_table('account_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_notices_subject'))
        batch_op.drop_index(batch_op.f('ix_account_notices_account_id'))

    op.drop_table('account_notices')
