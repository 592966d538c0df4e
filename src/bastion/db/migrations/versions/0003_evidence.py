"""evidence: blobs, items, custody, retention catalogue, legal holds

Seeds the retention catalogue from the shipped data file catalogue/v1.json (never
edited after release; a newer catalogue ships as a new file with its own migration).

Revision ID: 0003_evidence
Revises: 0002
Create Date: 2026-11-28 17:03:02.862939
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from importlib import resources

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = '0003_evidence'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('evidence_blobs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('object_key', sa.String(length=200), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_blobs')),
    sa.UniqueConstraint('object_key', name=op.f('uq_evidence_blobs_object_key')),
    sa.UniqueConstraint('sha256', name=op.f('uq_evidence_blobs_sha256'))
    )
    with op.batch_alter_table('evidence_blobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_blobs_key_id'), ['key_id'], unique=False)

    op.create_table('evidence_retention_policies',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('duration', sa.String(length=32), nullable=False),
    sa.Column('citation', sa.Text(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_evidence_retention_policies'))
    )
    op.create_table('evidence_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('blob_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('md5', sa.String(length=32), nullable=False),
    sa.Column('sha1', sa.String(length=40), nullable=False),
    sa.Column('pdq', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('metadata_json', sa.Text(), nullable=False),
    sa.Column('context_json', sa.Text(), nullable=False),
    sa.Column('exif_json', sa.Text(), nullable=False),
    sa.Column('preserved_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('preserved_by', sa.String(length=200), nullable=False),
    sa.Column('retention_until', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('purged_at', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['blob_id'], ['evidence_blobs.id'], name=op.f('fk_evidence_items_blob_id_evidence_blobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_items'))
    )
    with op.batch_alter_table('evidence_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_items_blob_id'), ['blob_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_items_sha256'), ['sha256'], unique=False)
        batch_op.create_index('ix_evidence_items_status_retention', ['status', 'retention_until'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_items_subject'), ['subject'], unique=False)

    op.create_table('evidence_custody',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('details_json', sa.Text(), nullable=False),
    sa.Column('audit_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['evidence_items.id'], name=op.f('fk_evidence_custody_item_id_evidence_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_custody'))
    )
    with op.batch_alter_table('evidence_custody', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_custody_item_id'), ['item_id'], unique=False)

    op.create_table('evidence_holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('placed_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('placed_by', sa.String(length=200), nullable=False),
    sa.Column('released_at', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('released_by', sa.String(length=200), nullable=False),
    sa.Column('release_reason', sa.Text(), nullable=False),
    sa.CheckConstraint('(subject IS NULL) <> (item_id IS NULL)', name=op.f('ck_evidence_holds_one_target')),
    sa.ForeignKeyConstraint(['item_id'], ['evidence_items.id'], name=op.f('fk_evidence_holds_item_id_evidence_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_holds'))
    )
    with op.batch_alter_table('evidence_holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_holds_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_holds_subject'), ['subject'], unique=False)

    op.create_table('evidence_retention',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('policy_key', sa.String(length=64), nullable=False),
    sa.Column('duration', sa.String(length=32), nullable=False),
    sa.Column('citation', sa.Text(), nullable=False),
    sa.Column('from_time', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deadline', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('applied_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('applied_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['evidence_items.id'], name=op.f('fk_evidence_retention_item_id_evidence_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_retention'))
    )
    with op.batch_alter_table('evidence_retention', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_retention_item_id'), ['item_id'], unique=False)

    _seed_catalogue()


def _seed_catalogue() -> None:
    policies = sa.table(
        'evidence_retention_policies',
        sa.column('key', sa.String), sa.column('title', sa.String), sa.column('duration', sa.String),
        sa.column('citation', sa.Text), sa.column('as_of', sa.Date), sa.column('description', sa.Text),
        sa.column('active', sa.Boolean), sa.column('updated_at', bastion.db.base.UTCDateTime()),
        sa.column('updated_by', sa.String),
    )
    catalogue = json.loads(resources.files('bastion.evidence').joinpath('catalogue/v1.json').read_text('utf-8'))
    seeded_at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    op.bulk_insert(policies, [
        {'key': p['key'], 'title': p['title'], 'duration': p['duration'], 'citation': p['citation'],
         'as_of': date.fromisoformat(p['as_of']), 'description': p['description'], 'active': True,
         'updated_at': seeded_at, 'updated_by': 'migration:0003_evidence'}
        for p in catalogue['policies']
    ])


def downgrade() -> None:
    with op.batch_alter_table('evidence_retention', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_retention_item_id'))

    op.drop_table('evidence_retention')
    with op.batch_alter_table('evidence_holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_holds_subject'))
        batch_op.drop_index(batch_op.f('ix_evidence_holds_item_id'))

    op.drop_table('evidence_holds')
    with op.batch_alter_table('evidence_custody', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_custody_item_id'))

    op.drop_table('evidence_custody')
    with op.batch_alter_table('evidence_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_items_subject'))
        batch_op.drop_index('ix_evidence_items_status_retention')
        batch_op.drop_index(batch_op.f('ix_evidence_items_sha256'))
        batch_op.drop_index(batch_op.f('ix_evidence_items_blob_id'))

    op.drop_table('evidence_items')
    op.drop_table('evidence_retention_policies')
    with op.batch_alter_table('evidence_blobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_blobs_key_id'))

    op.drop_table('evidence_blobs')
