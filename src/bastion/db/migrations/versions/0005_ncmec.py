"""ncmec: CyberTipline reports, their files, every API call, and the reports' timeline

Revision ID: 0005_ncmec
Revises: 0004_merge_review
Create Date: 2026-11-28 17:27:55.876273
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = '0005_ncmec'
down_revision = '0004_merge_review'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ncmec_reports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.String(length=255), nullable=False),
    sa.Column('open_key', sa.String(length=64), nullable=True),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('resume_state', sa.String(length=24), nullable=False),
    sa.Column('environment', sa.String(length=16), nullable=False),
    sa.Column('document_json', sa.Text(), nullable=False),
    sa.Column('submitted_xml', sa.Text(), nullable=False),
    sa.Column('ncmec_report_id', sa.BigInteger(), nullable=True),
    sa.Column('ncmec_file_ids', sa.Text(), nullable=False),
    sa.Column('lost_report_ids', sa.Text(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('drafted_by', sa.String(length=200), nullable=False),
    sa.Column('drafted_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('edited_by', sa.String(length=200), nullable=False),
    sa.Column('edited_at', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('approved_by', sa.String(length=200), nullable=False),
    sa.Column('approved_at', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('submitted_at', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_change_at', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('recorded_at', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('retracted_at', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('retract_requested_by', sa.String(length=200), nullable=False),
    sa.Column('retract_reason', sa.Text(), nullable=False),
    sa.Column('resubmit_after', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('stalled_at', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attention', sa.Text(), nullable=False),
    sa.Column('error_step', sa.String(length=16), nullable=False),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('error_text', sa.Text(), nullable=False),
    sa.Column('error_element', sa.String(length=200), nullable=False),
    sa.Column('error_request_id', sa.String(length=100), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('lease_owner', sa.String(length=100), nullable=False),
    sa.Column('lease_until', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_ncmec_reports_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ncmec_reports')),
    sa.UniqueConstraint('open_key', name=op.f('uq_ncmec_reports_open_key'))
    )
    with op.batch_alter_table('ncmec_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ncmec_reports_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ncmec_reports_ncmec_report_id'), ['ncmec_report_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ncmec_reports_state'), ['state'], unique=False)

    op.create_table('ncmec_api_calls',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('report_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('file_row_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('operation', sa.String(length=16), nullable=False),
    sa.Column('environment', sa.String(length=16), nullable=False),
    sa.Column('ncmec_report_id', sa.BigInteger(), nullable=True),
    sa.Column('file_id', sa.String(length=100), nullable=False),
    sa.Column('worker', sa.String(length=100), nullable=False),
    sa.Column('started_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('request_id', sa.String(length=100), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('response_code', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['ncmec_reports.id'], name=op.f('fk_ncmec_api_calls_report_id_ncmec_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ncmec_api_calls'))
    )
    with op.batch_alter_table('ncmec_api_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ncmec_api_calls_outcome'), ['outcome'], unique=False)
        batch_op.create_index(batch_op.f('ix_ncmec_api_calls_report_id'), ['report_id'], unique=False)

    op.create_table('ncmec_report_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('report_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['ncmec_reports.id'], name=op.f('fk_ncmec_report_events_report_id_ncmec_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ncmec_report_events'))
    )
    with op.batch_alter_table('ncmec_report_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ncmec_report_events_report_id'), ['report_id'], unique=False)

    op.create_table('ncmec_report_files',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('report_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('scan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('evidence_item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('expected_md5', sa.String(length=32), nullable=False),
    sa.Column('details_json', sa.Text(), nullable=False),
    sa.Column('file_id', sa.String(length=100), nullable=True),
    sa.Column('md5', sa.String(length=32), nullable=False),
    sa.Column('uploaded_at', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('fileinfo_sent', sa.Boolean(), nullable=False),
    sa.Column('fileinfo_at', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['evidence_item_id'], ['evidence_items.id'], name=op.f('fk_ncmec_report_files_evidence_item_id_evidence_items')),
    sa.ForeignKeyConstraint(['report_id'], ['ncmec_reports.id'], name=op.f('fk_ncmec_report_files_report_id_ncmec_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ncmec_report_files')),
    sa.UniqueConstraint('report_id', 'case_item_id', name='uq_ncmec_report_files_report_item')
    )
    with op.batch_alter_table('ncmec_report_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ncmec_report_files_report_id'), ['report_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ncmec_report_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ncmec_report_files_report_id'))

    op.drop_table('ncmec_report_files')
    with op.batch_alter_table('ncmec_report_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ncmec_report_events_report_id'))

    op.drop_table('ncmec_report_events')
    with op.batch_alter_table('ncmec_api_calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ncmec_api_calls_report_id'))
        batch_op.drop_index(batch_op.f('ix_ncmec_api_calls_outcome'))

    op.drop_table('ncmec_api_calls')
    with op.batch_alter_table('ncmec_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ncmec_reports_state'))
        batch_op.drop_index(batch_op.f('ix_ncmec_reports_ncmec_report_id'))
        batch_op.drop_index(batch_op.f('ix_ncmec_reports_case_id'))

    op.drop_table('ncmec_reports')
