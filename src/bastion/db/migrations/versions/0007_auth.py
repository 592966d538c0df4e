"""auth hardening: API key expiry and step-up, per-target login throttles, password reset links

Existing API keys get an expiry 90 days from the upgrade (the default lifetime) and lose any media or
account-data scope: such scopes now need a key minted by its owner after a fresh second factor.

Revision ID: 0007_auth
Revises: 0006_merge_legal
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = "0007_auth"
down_revision = "0006_merge_legal"
branch_labels = None
depends_on = None

#: The scopes a key no longer carries unless minted by its owner after a second factor (permissions.SENSITIVE)
#: or at all (apikeys.manage is session-only), spelled out: a migration must not change with later code.
_SENSITIVE = {"media.view", "media.reveal_any", "legal.read", "legal.manage", "legal.approve", "officer.portal",
              "apikeys.manage"}


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", bastion.db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("step_up", sa.Boolean(), nullable=False, server_default=sa.false()))
    keys = sa.table("api_keys", sa.column("id", sa.Integer), sa.column("scopes", sa.Text),
                    sa.column("expires_at", bastion.db.base.UTCDateTime(timezone=True)))
    connection = op.get_bind()
    expiry = datetime.now(timezone.utc) + timedelta(days=90)
    for key_id, scopes in connection.execute(sa.select(keys.c.id, keys.c.scopes)).all():
        kept = " ".join(s for s in (scopes or "").split() if s not in _SENSITIVE)
        connection.execute(keys.update().where(keys.c.id == key_id).values(scopes=kept, expires_at=expiry))
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.alter_column("expires_at", existing_type=bastion.db.base.UTCDateTime(timezone=True), nullable=False)
        batch_op.alter_column("step_up", server_default=None)

    op.create_table(
        "auth_throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", bastion.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("blocked_until", bastion.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_throttle")),
        sa.UniqueConstraint("scope", "key_hash", name="uq_auth_throttle_scope_key"),
    )
    op.create_table(
        "password_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", bastion.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("expires_at", bastion.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", bastion.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_password_resets_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_resets_token_hash")),
    )
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_password_resets_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_password_resets_user_id"))
    op.drop_table("password_resets")
    op.drop_table("auth_throttle")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("step_up")
        batch_op.drop_column("expires_at")
