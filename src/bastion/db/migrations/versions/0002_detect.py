"""detect: banks, entries, signals, change log, scans

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 16:48:36.916708
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('banks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('pdq_threshold', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=255), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('matching_enabled_ratio', sa.Float(), nullable=False),
    sa.Column('created_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_banks')),
    sa.UniqueConstraint('name', name=op.f('uq_banks_name'))
    )
    op.create_table('scans',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('content_id', sa.String(length=255), nullable=False),
    sa.Column('account_id', sa.String(length=255), nullable=False),
    sa.Column('uploaded_at', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('client_ip', sa.String(length=64), nullable=False),
    sa.Column('metadata_json', sa.Text(), nullable=False),
    sa.Column('md5', sa.String(length=32), nullable=False),
    sa.Column('sha1', sa.String(length=40), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('pdq', sa.String(length=64), nullable=False),
    sa.Column('pdq_quality', sa.Integer(), nullable=False),
    sa.Column('pdq_dihedral', sa.Text(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('media_format', sa.String(length=16), nullable=False),
    sa.Column('animated', sa.Boolean(), nullable=False),
    sa.Column('match_count', sa.Integer(), nullable=False),
    sa.Column('allowed', sa.Boolean(), nullable=False),
    sa.Column('submitted_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scans'))
    )
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scans_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scans_content_id'), ['content_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scans_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_scans_md5'), ['md5'], unique=False)

    op.create_table('signal_changes',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('signal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('signal_type', sa.String(length=32), nullable=False),
    sa.Column('value', sa.String(length=128), nullable=False),
    sa.Column('op', sa.String(length=8), nullable=False),
    sa.Column('at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_signal_changes'))
    )
    op.create_table('bank_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bank_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=False),
    sa.Column('source', sa.String(length=255), nullable=False),
    sa.Column('classification', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('metadata_json', sa.Text(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('disabled_until', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('added_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('added_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['bank_id'], ['banks.id'], name=op.f('fk_bank_entries_bank_id_banks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_entries'))
    )
    with op.batch_alter_table('bank_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_entries_bank_id'), ['bank_id'], unique=False)

    op.create_table('scan_matches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('scan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bank_id', sa.Integer(), nullable=False),
    sa.Column('bank_name', sa.String(length=255), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('signal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('signal_type', sa.String(length=32), nullable=False),
    sa.Column('distance', sa.Integer(), nullable=False),
    sa.Column('classification', sa.String(length=64), nullable=False),
    sa.Column('found_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('found_by', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['scan_id'], ['scans.id'], name=op.f('fk_scan_matches_scan_id_scans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scan_matches')),
    sa.UniqueConstraint('scan_id', 'signal_id', name='uq_scan_matches_scan_signal')
    )
    with op.batch_alter_table('scan_matches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scan_matches_bank_id'), ['bank_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scan_matches_scan_id'), ['scan_id'], unique=False)

    op.create_table('entry_signals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bank_id', sa.Integer(), nullable=False),
    sa.Column('signal_type', sa.String(length=32), nullable=False),
    sa.Column('value', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['bank_id'], ['banks.id'], name=op.f('fk_entry_signals_bank_id_banks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entry_id'], ['bank_entries.id'], name=op.f('fk_entry_signals_entry_id_bank_entries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entry_signals')),
    sa.UniqueConstraint('bank_id', 'signal_type', 'value', name='uq_entry_signals_bank_type_value')
    )
    with op.batch_alter_table('entry_signals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entry_signals_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index('ix_entry_signals_type_value', ['signal_type', 'value'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('entry_signals', schema=None) as batch_op:
        batch_op.drop_index('ix_entry_signals_type_value')
        batch_op.drop_index(batch_op.f('ix_entry_signals_entry_id'))

    op.drop_table('entry_signals')
    with op.batch_alter_table('scan_matches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scan_matches_scan_id'))
        batch_op.drop_index(batch_op.f('ix_scan_matches_bank_id'))

    op.drop_table('scan_matches')
    with op.batch_alter_table('bank_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_entries_bank_id'))

    op.drop_table('bank_entries')
    op.drop_table('signal_changes')
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scans_md5'))
        batch_op.drop_index(batch_op.f('ix_scans_created_at'))
        batch_op.drop_index(batch_op.f('ix_scans_content_id'))
        batch_op.drop_index(batch_op.f('ix_scans_account_id'))

    op.drop_table('scans')
    op.drop_table('banks')
