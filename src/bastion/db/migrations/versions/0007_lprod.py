"""legal desk, production side: catalogue rules, account candidates, removals, preservation basis, token hashes

Adds the catalogue rules (preservation periods by jurisdiction, removal orders, evidence certificate
forms), seeded from bastion/legal/catalogue/rules-v1.json with the retention policy and the DSA Art. 9
instrument they need; the candidates the platform proposes for a username, email or phone; the
removals a removal order sets in motion; and what each preservation rests on.

Download tokens of productions were written into the request's timeline (and so the audit log) by
earlier versions. The timeline copies are redacted here; the audit log is hash-chained and is not
edited, so every token that could still be used is revoked instead (staff issue a new link, which is
never recorded), and the revocation is itself audited.

Revision ID: 0007_lprod
Revises: 0006_merge_legal
"""
from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from importlib import resources

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = '0007_lprod'
down_revision = '0006_merge_legal'
branch_labels = None
depends_on = None

BY = 'migration:0007_lprod'
_TOKENS = (re.compile(r'(Download token: )\S+'), re.compile(r'(valid until \d{4}-\d\d-\d\d \d\d:\d\d UTC: )\S+'))


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
    utc = bastion.db.base.UTCDateTime(timezone=True)
    op.create_table('legal_rules',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('jurisdiction', sa.String(length=16), nullable=False),
    sa.Column('instrument_key', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('citation', sa.Text(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('body_json', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', utc, nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_legal_rules'))
    )
    with op.batch_alter_table('legal_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legal_rules_kind'), ['kind'], unique=False)

    op.create_table('legal_removals',
    sa.Column('id', big, nullable=False),
    sa.Column('request_id', big, nullable=False),
    sa.Column('content_id', sa.String(length=255), nullable=False),
    sa.Column('account_id', sa.String(length=255), nullable=False),
    sa.Column('action_id', big, nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('queued_at', utc, nullable=False),
    sa.Column('removed_at', utc, nullable=True),
    sa.Column('confirmed_at', utc, nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['legal_requests.id'], name=op.f('fk_legal_removals_request_id_legal_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_removals')),
    sa.UniqueConstraint('request_id', 'content_id', name='uq_legal_removals_request_content')
    )
    with op.batch_alter_table('legal_removals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legal_removals_request_id'), ['request_id'], unique=False)

    op.create_table('legal_account_candidates',
    sa.Column('id', big, nullable=False),
    sa.Column('request_id', big, nullable=False),
    sa.Column('entry_id', big, nullable=False),
    sa.Column('account_id', sa.String(length=255), nullable=False),
    sa.Column('username', sa.String(length=255), nullable=False),
    sa.Column('display_name', sa.String(length=300), nullable=False),
    sa.Column('platform_status', sa.String(length=16), nullable=False),
    sa.Column('matched_on', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('found_at', utc, nullable=False),
    sa.Column('found_by', sa.String(length=200), nullable=False),
    sa.Column('decided_at', utc, nullable=True),
    sa.Column('decided_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['legal_request_accounts.id'], name=op.f('fk_legal_account_candidates_entry_id_legal_request_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_id'], ['legal_requests.id'], name=op.f('fk_legal_account_candidates_request_id_legal_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_account_candidates')),
    sa.UniqueConstraint('entry_id', 'account_id', name='uq_legal_account_candidates_entry_account')
    )
    with op.batch_alter_table('legal_account_candidates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legal_account_candidates_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_legal_account_candidates_request_id'), ['request_id'], unique=False)

    with op.batch_alter_table('legal_preservations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('basis', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('purpose', sa.String(length=16), nullable=False, server_default='request'))
        batch_op.add_column(sa.Column('extension_basis', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('content_json', sa.Text(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('released_at', utc, nullable=True))

    _seed_rules()
    _redact_and_revoke_tokens()


def _shipped() -> dict:
    return json.loads(resources.files('bastion.legal').joinpath('catalogue/rules-v1.json').read_text('utf-8'))


def _seed_rules() -> None:
    shipped, at = _shipped(), datetime(2026, 12, 3, tzinfo=UTC)
    bind = op.get_bind()
    utc = bastion.db.base.UTCDateTime()
    policies = sa.table(
        'evidence_retention_policies',
        sa.column('key', sa.String), sa.column('title', sa.String), sa.column('duration', sa.String),
        sa.column('citation', sa.Text), sa.column('as_of', sa.Date), sa.column('description', sa.Text),
        sa.column('active', sa.Boolean), sa.column('updated_at', utc), sa.column('updated_by', sa.String),
    )
    existing = set(bind.execute(sa.select(policies.c.key)).scalars())
    op.bulk_insert(policies, [
        {'key': p['key'], 'title': p['title'], 'duration': p['duration'], 'citation': p['citation'],
         'as_of': date.fromisoformat(p['as_of']), 'description': p['description'], 'active': True,
         'updated_at': at, 'updated_by': BY}
        for p in shipped['retention_policies'] if p['key'] not in existing
    ])
    names = ('key', 'jurisdiction', 'title', 'kind', 'citation', 'deadline_json', 'emergency_deadline_json',
             'preservation_json', 'required_fields_json', 'may_compel_json', 'conditions_json', 'scope_notes_json',
             'notice_json', 'updated_by')
    instruments = sa.table('legal_instruments', *(sa.column(n, sa.Text) for n in names), sa.column('as_of', sa.Date),
                           sa.column('emergency', sa.Boolean), sa.column('active', sa.Boolean),
                           sa.column('updated_at', utc))
    present = set(bind.execute(sa.select(instruments.c.key)).scalars())
    op.bulk_insert(instruments, [
        {'key': i['key'], 'jurisdiction': i['jurisdiction'], 'title': i['title'], 'kind': i['kind'],
         'citation': i['citation'], 'as_of': date.fromisoformat(i['as_of']), 'deadline_json': json.dumps(i['deadline']),
         'emergency_deadline_json': json.dumps(i.get('emergency_deadline')),
         'preservation_json': json.dumps(i.get('preservation')),
         'required_fields_json': json.dumps(i.get('required_fields', [])),
         'may_compel_json': json.dumps(i.get('may_compel', [])), 'conditions_json': json.dumps(i.get('conditions', [])),
         'scope_notes_json': json.dumps(i.get('scope_notes', {})), 'notice_json': json.dumps(i.get('notice', {})),
         'emergency': bool(i.get('emergency', False)), 'active': True, 'updated_at': at, 'updated_by': BY}
        for i in shipped['instruments'] if i['key'] not in present
    ])
    rules = sa.table('legal_rules', sa.column('key', sa.String), sa.column('kind', sa.String),
                     sa.column('jurisdiction', sa.String), sa.column('instrument_key', sa.String),
                     sa.column('title', sa.String), sa.column('citation', sa.Text), sa.column('as_of', sa.Date),
                     sa.column('body_json', sa.Text), sa.column('active', sa.Boolean), sa.column('updated_at', utc),
                     sa.column('updated_by', sa.String))
    op.bulk_insert(rules, [
        {'key': r['key'], 'kind': r['kind'], 'jurisdiction': r.get('jurisdiction', ''),
         'instrument_key': r.get('instrument_key', ''), 'title': r['title'], 'citation': r['citation'],
         'as_of': date.fromisoformat(r['as_of']), 'body_json': json.dumps(r['body'], sort_keys=True), 'active': True,
         'updated_at': at, 'updated_by': BY}
        for r in shipped['rules']
    ])


def _redact(text: str) -> str:
    for pattern in _TOKENS:
        text = pattern.sub(r'\1[redacted]', text)
    return text


def _redact_and_revoke_tokens() -> None:
    bind = op.get_bind()
    events = sa.table('legal_request_events', sa.column('id', sa.Integer), sa.column('kind', sa.String),
                      sa.column('text', sa.Text))
    for event_id, text in bind.execute(sa.select(events.c.id, events.c.text)
                                       .where(events.c.kind == 'production_ready')).all():
        if _redact(text) != text:
            bind.execute(events.update().where(events.c.id == event_id).values(text=_redact(text)))
    productions = sa.table('legal_productions', sa.column('id', sa.Integer), sa.column('token_hash', sa.String))
    live = sorted(bind.execute(sa.select(productions.c.id).where(productions.c.token_hash != '')).scalars())
    if not live:
        return
    bind.execute(productions.update().where(productions.c.id.in_(live)).values(token_hash=''))
    _audit(bind, 'legal.production.tokens_revoked', 'legal_productions',
           {'productions': live, 'reason': 'download tokens were written into the timeline and audit log by earlier '
                                            'versions; every live one is revoked (issue new links)'})


def _audit(bind, action: str, subject: str, details: dict) -> None:
    """Append one record to the audit hash chain with plain SQL (the ORM models may have moved on)."""
    from bastion.audit.chain import GENESIS, record_hash

    at = datetime.now(UTC)
    head = bind.execute(sa.text('SELECT seq, hash FROM audit_head WHERE id = 1')).first()
    seq, prev = (head[0], head[1]) if head else (0, GENESIS)
    details_json = json.dumps(details, sort_keys=True, ensure_ascii=False, separators=(',', ':'))
    digest = record_hash(seq + 1, at, BY, action, subject, details_json, prev)
    stamp = bastion.db.base.UTCDateTime()
    records = sa.table('audit_records', sa.column('seq', sa.Integer), sa.column('at', stamp),
                       sa.column('actor', sa.String), sa.column('action', sa.String), sa.column('subject', sa.String),
                       sa.column('details', sa.Text), sa.column('prev_hash', sa.String), sa.column('hash', sa.String))
    bind.execute(records.insert().values(seq=seq + 1, at=at, actor=BY, action=action, subject=subject,
                                         details=details_json, prev_hash=prev, hash=digest))
    if head:
        bind.execute(sa.text('UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1'),
                     {'seq': seq + 1, 'hash': digest})
    else:
        bind.execute(sa.text('INSERT INTO audit_head (id, seq, hash) VALUES (1, :seq, :hash)'),
                     {'seq': seq + 1, 'hash': digest})


def downgrade() -> None:
    shipped = _shipped()
    op.execute(sa.text('DELETE FROM legal_instruments WHERE key IN :keys AND key NOT IN '
                       '(SELECT instrument_key FROM legal_requests)')
               .bindparams(sa.bindparam('keys', expanding=True)).params(keys=[i['key'] for i in shipped['instruments']]))
    op.execute(sa.text('DELETE FROM evidence_retention_policies WHERE key IN :keys AND key NOT IN '
                       '(SELECT policy_key FROM evidence_retention)')
               .bindparams(sa.bindparam('keys', expanding=True))
               .params(keys=[p['key'] for p in shipped['retention_policies']]))
    with op.batch_alter_table('legal_preservations', schema=None) as batch_op:
        batch_op.drop_column('released_at')
        batch_op.drop_column('content_json')
        batch_op.drop_column('extension_basis')
        batch_op.drop_column('purpose')
        batch_op.drop_column('basis')
        batch_op.drop_column('days')

    with op.batch_alter_table('legal_account_candidates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legal_account_candidates_request_id'))
        batch_op.drop_index(batch_op.f('ix_legal_account_candidates_entry_id'))

    op.drop_table('legal_account_candidates')
    with op.batch_alter_table('legal_removals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legal_removals_request_id'))

    op.drop_table('legal_removals')
    with op.batch_alter_table('legal_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legal_rules_kind'))

    op.drop_table('legal_rules')
