"""Quality: a random share of concluded cases gets a blind second opinion; disagreements go to a lead.

Why blind: a second reviewer who sees the first decision tends to agree with it, and the figure
would measure deference rather than consistency. So the second reviewer sees the case's items and
why they are here, never the first outcome. Agreement is reported per reviewer and per queue, as a
share of second opinions that matched; it describes how consistently a policy is applied, and the
pages say so in neutral words. A disagreement is settled by a lead, whose note is audited.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import case as when, func, select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.auth.models import User
from bastion.cases.models import Case, QualitySample, ReviewQueue
from bastion.clock import Clock
from bastion.errors import InvalidInput, NotFound
from bastion.orgsettings import get_value
from bastion.orgsettings.store import register

SAMPLE_PERCENT = "quality.sample_percent"
register(SAMPLE_PERCENT, int, 0, "Percentage (0-100) of concluded cases that get a blind second review; when the "
                                 "two outcomes differ, a review lead settles it.", minimum=0, maximum=100)
#: Replaced in tests for a deterministic draw; a plain pseudo-random draw is enough (this is not a secret).
draw = random.Random()


def outcome_of(status: str, classification: str) -> str:
    return f"confirmed {classification}".strip() if status == "confirmed" else "dismissed"


def maybe_sample(session: Session, case: Case, user: User, *, clock: Clock) -> QualitySample | None:
    """After a case is concluded: with the configured chance, queue it for a second opinion."""
    percent = max(0, min(100, int(get_value(session, SAMPLE_PERCENT))))
    if percent == 0 or draw.random() * 100 >= percent:
        return None
    if session.scalar(select(QualitySample.id).where(QualitySample.case_id == case.id)) is not None:
        return None
    sample = QualitySample(case_id=case.id, queue_id=case.queue_id, first_reviewer=user.id,
                           first_outcome=outcome_of(case.status, case.classification), status="waiting",
                           sampled_at=clock.now())
    session.add(sample)
    session.flush()
    audit.record(session, actor="bastion", action="quality.sampled", subject=f"case:{case.id}", clock=clock,
                 details={"sample": sample.id, "percent": percent})
    return sample


def waiting_for(session: Session, user_id: int, *, visible: list[int] | None, limit: int = 50
                ) -> list[QualitySample]:
    """Samples this reviewer may give a second opinion on: never their own decision, only their queues."""
    stmt = select(QualitySample).where(QualitySample.status == "waiting", QualitySample.first_reviewer != user_id)
    if visible is not None:
        stmt = stmt.where(QualitySample.queue_id.is_(None) | QualitySample.queue_id.in_(visible))
    return list(session.scalars(stmt.order_by(QualitySample.id).limit(limit)))


def get_sample(session: Session, sample_id: int) -> QualitySample:
    sample = session.get(QualitySample, sample_id)
    if sample is None:
        raise NotFound(f"No quality sample {sample_id}.")
    return sample


def second_opinion(session: Session, sample: QualitySample, user: User, *, confirmed: bool, classification: str,
                   clock: Clock) -> QualitySample:
    """The blind second review: agreement closes the sample; a difference goes to a lead."""
    from bastion.cases.kinds import classifications_of

    if sample.status != "waiting":
        raise InvalidInput("This sample already has its second opinion.")
    if sample.first_reviewer == user.id:
        raise InvalidInput("A second opinion comes from someone other than the first reviewer.")
    case = session.get(Case, sample.case_id)
    kind = case.kind if case is not None else "csam"
    if confirmed and classification not in classifications_of(kind):
        raise InvalidInput(f"Choose a classification: {', '.join(classifications_of(kind))}.")
    sample.second_reviewer, sample.answered_at = user.id, clock.now()
    sample.second_outcome = outcome_of("confirmed" if confirmed else "dismissed", classification)
    sample.status = "agreed" if sample.second_outcome == sample.first_outcome else "to_lead"
    audit.record(session, actor=user.username, action="quality.second_opinion", subject=f"case:{sample.case_id}",
                 clock=clock, details={"sample": sample.id, "agreed": sample.status == "agreed"})
    return sample


def for_lead(session: Session, limit: int = 100) -> list[QualitySample]:
    return list(session.scalars(select(QualitySample).where(QualitySample.status == "to_lead")
                                .order_by(QualitySample.id).limit(limit)))


def settle(session: Session, sample: QualitySample, *, lead: str, note: str, clock: Clock) -> None:
    """A lead settles a difference of opinion; the note says which outcome stands and why."""
    if sample.status != "to_lead":
        raise InvalidInput("Only a sample whose two opinions differ waits for a lead.")
    if not note.strip():
        raise InvalidInput("Write which outcome stands and why; both reviewers can learn from it.")
    sample.status, sample.lead, sample.lead_note = "settled", lead[:200], note.strip()[:5000]
    audit.record(session, actor=lead, action="quality.settled", subject=f"case:{sample.case_id}", clock=clock,
                 details={"sample": sample.id})


@dataclass(frozen=True)
class Agreement:
    name: str
    compared: int
    matched: int

    @property
    def rate(self) -> float | None:
        return self.matched / self.compared if self.compared else None


def _answered() -> object:
    return QualitySample.status.in_(("agreed", "to_lead", "settled"))


def by_reviewer(session: Session) -> list[Agreement]:
    """Per first reviewer: of their sampled decisions with a second opinion, how many matched."""
    rows = session.execute(
        select(User.username, func.count(), func.sum(when((QualitySample.status == "agreed", 1), else_=0)))
        .join(User, User.id == QualitySample.first_reviewer).where(_answered())  # type: ignore[arg-type]
        .group_by(User.username).order_by(User.username))
    return [Agreement(name, int(n), int(m or 0)) for name, n, m in rows]


def by_queue(session: Session) -> list[Agreement]:
    rows = session.execute(
        select(ReviewQueue.name, func.count(), func.sum(when((QualitySample.status == "agreed", 1), else_=0)))
        .select_from(QualitySample).outerjoin(ReviewQueue, ReviewQueue.id == QualitySample.queue_id)
        .where(_answered()).group_by(ReviewQueue.name).order_by(ReviewQueue.name))  # type: ignore[arg-type]
    return [Agreement(name or "General queue", int(n), int(m or 0)) for name, n, m in rows]
