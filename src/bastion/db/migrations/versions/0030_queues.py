"""queues: named review queues, routing rules, assignments, case kinds and sources, classifier scores, quality samples

Revision ID: 0030_queues
Revises: 0029_indexes
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = "0030_queues"
down_revision = "0029_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    utc = bastion.db.base.UTCDateTime(timezone=True)
    op.create_table(
        "review_queues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_queues")),
        sa.UniqueConstraint("name", name=op.f("uq_review_queues_name")),
    )
    op.create_table(
        "queue_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["queue_id"], ["review_queues.id"], name=op.f("fk_queue_members_queue_id_review_queues"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_queue_members_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_members")),
        sa.UniqueConstraint("queue_id", "user_id", name="uq_queue_members_queue_user"),
    )
    op.create_index(op.f("ix_queue_members_queue_id"), "queue_members", ["queue_id"])
    op.create_index(op.f("ix_queue_members_user_id"), "queue_members", ["user_id"])
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("from_queue_id", sa.Integer(), nullable=True),
        sa.Column("kinds", sa.String(length=100), nullable=False),
        sa.Column("categories", sa.String(length=200), nullable=False),
        sa.Column("sources", sa.String(length=100), nullable=False),
        sa.Column("signal", sa.String(length=16), nullable=False),
        sa.Column("max_distance", sa.Integer(), nullable=True),
        sa.Column("min_prior_cases", sa.Integer(), nullable=True),
        sa.Column("jurisdictions", sa.String(length=200), nullable=False),
        sa.Column("languages", sa.String(length=200), nullable=False),
        sa.Column("min_score", sa.Float(), nullable=True),
        sa.Column("updated_at", utc, nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["queue_id"], ["review_queues.id"], name=op.f("fk_routing_rules_queue_id_review_queues"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["from_queue_id"], ["review_queues.id"],
                                name=op.f("fk_routing_rules_from_queue_id_review_queues"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rules")),
    )
    op.create_index(op.f("ix_routing_rules_position"), "routing_rules", ["position"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="csam"))
        batch.add_column(sa.Column("source", sa.String(length=16), nullable=False, server_default="bank"))
        batch.add_column(sa.Column("source_ref", sa.String(length=100), nullable=False, server_default=""))
        batch.add_column(sa.Column("jurisdiction", sa.String(length=16), nullable=False, server_default=""))
        batch.add_column(sa.Column("language", sa.String(length=16), nullable=False, server_default=""))
        batch.add_column(sa.Column("queue_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("classifier_model", sa.String(length=100), nullable=False, server_default=""))
        batch.add_column(sa.Column("classifier_score", sa.Float(), nullable=True))
        batch.create_foreign_key(op.f("fk_cases_queue_id_review_queues"), "review_queues", ["queue_id"], ["id"],
                                 ondelete="SET NULL")
    op.create_index(op.f("ix_cases_kind"), "cases", ["kind"])
    op.create_index(op.f("ix_cases_queue_id"), "cases", ["queue_id"])
    op.create_table(
        "quality_samples",
        sa.Column("id", big, nullable=False),
        sa.Column("case_id", big, nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=True),
        sa.Column("first_reviewer", sa.Integer(), nullable=False),
        sa.Column("first_outcome", sa.String(length=40), nullable=False),
        sa.Column("second_reviewer", sa.Integer(), nullable=True),
        sa.Column("second_outcome", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sampled_at", utc, nullable=False),
        sa.Column("answered_at", utc, nullable=True),
        sa.Column("lead", sa.String(length=200), nullable=False),
        sa.Column("lead_note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_quality_samples_case_id_cases"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["queue_id"], ["review_queues.id"],
                                name=op.f("fk_quality_samples_queue_id_review_queues"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["first_reviewer"], ["users.id"], name=op.f("fk_quality_samples_first_reviewer_users")),
        sa.ForeignKeyConstraint(["second_reviewer"], ["users.id"],
                                name=op.f("fk_quality_samples_second_reviewer_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_samples")),
        sa.UniqueConstraint("case_id", name=op.f("uq_quality_samples_case_id")),
    )
    op.create_index(op.f("ix_quality_samples_first_reviewer"), "quality_samples", ["first_reviewer"])
    op.create_index(op.f("ix_quality_samples_status"), "quality_samples", ["status"])


def downgrade() -> None:
    op.drop_table("quality_samples")
    op.drop_index(op.f("ix_cases_queue_id"), table_name="cases")
    op.drop_index(op.f("ix_cases_kind"), table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_constraint(op.f("fk_cases_queue_id_review_queues"), type_="foreignkey")
        for column in ("classifier_score", "classifier_model", "queue_id", "language", "jurisdiction", "source_ref",
                       "source", "kind"):
            batch.drop_column(column)
    op.drop_table("routing_rules")
    op.drop_table("queue_members")
    op.drop_table("review_queues")
