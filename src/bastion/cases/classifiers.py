"""External classifiers of unknown material: a plug-in point, never a decision-maker.

Hash matching finds known material only. An operator may also send uploads that matched nothing
to a classifier they have a contract with (Google's Content Safety API, Thorn's Safer Predict and
the like), with their own credentials. Bastion treats the answer as a signal: a score at or above
`classifier.review_threshold` opens a case for a person (routed by source `classifier` and score,
prioritised by the score); the score and the model's name stay on the case. A classifier alone
never auto-actions: nothing here calls the auto-action policies, and a failed or slow classifier
only costs the signal, never the scan.

`HttpClassifier` speaks a small JSON-over-HTTP shape; an adapter for a vendor's own API implements
the same `Classifier` protocol. `bastion.dev.classifier` is a local stand-in speaking it, for tests.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy.orm import Session

from bastion.cases import routing
from bastion.cases.models import Case, CaseItem
from bastion.cases.service import REMOVAL_TIMER, _event
from bastion.clock import Clock
from bastion.orgsettings import get_value
from bastion.orgsettings.store import register

log = logging.getLogger(__name__)
THRESHOLD = "classifier.review_threshold"
register(THRESHOLD, float, 0.8, "A classifier score (0 to 1) at or above which an unmatched upload goes to review. "
                                 "A classifier never acts on its own.", minimum=0, maximum=1)
#: A classifier case ranks by its score, below any certain match of the gravest classes.
SCORE_WEIGHT = 100


@dataclass(frozen=True)
class Score:
    model: str
    score: float  # 0..1, how likely the classifier thinks the material is abusive


class ClassifierError(Exception):
    """The classifier did not answer usefully; the scan goes on without its signal."""


class Classifier(Protocol):
    name: str

    def classify(self, data: bytes, *, content_type: str = "application/octet-stream") -> Score: ...


class HttpClassifier:
    """POST the bytes to `<url>/v1/classify` with the operator's key; expects {"model": str, "score": float}."""

    def __init__(self, url: str, api_key: str, *, timeout: float = 10.0, transport: Any = None) -> None:
        self.name = url
        self._client = httpx.Client(base_url=url.rstrip("/"), timeout=timeout, transport=transport,
                                    headers={"Authorization": f"Bearer {api_key}"})

    def classify(self, data: bytes, *, content_type: str = "application/octet-stream") -> Score:
        try:
            response = self._client.post("/v1/classify", content=data, headers={"Content-Type": content_type})
        except httpx.HTTPError as exc:
            raise ClassifierError(f"the classifier at {self.name} did not answer: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise ClassifierError(f"the classifier at {self.name} answered {response.status_code}")
        try:
            body = response.json()
            score, model = float(body["score"]), str(body["model"])[:100]
        except (ValueError, KeyError, TypeError):
            raise ClassifierError(f"the classifier at {self.name} sent an answer Bastion cannot read") from None
        if not 0.0 <= score <= 1.0:
            raise ClassifierError(f"the classifier at {self.name} sent a score outside 0..1")
        return Score(model=model or "unnamed model", score=score)

    def close(self) -> None:
        self._client.close()


def open_for_score(session: Session, *, scan: Any, score: Score, media_ref: str, clock: Clock) -> Case | None:
    """A score over the threshold opens a case for review (never an action). None below the threshold."""
    if score.score < float(get_value(session, THRESHOLD)):
        return None
    hours = int(get_value(session, "review.removal_hours"))
    now = clock.now()
    key = scan.account_id or f"content:{scan.content_id or scan.id}"
    case = Case(account_id=key, status="new", priority=int(round(score.score * SCORE_WEIGHT)), opened_at=now,
                updated_at=now, removal_due_at=now + timedelta(hours=hours), kind="csam", source="classifier",
                removal_policy=str(get_value(session, "review.removal_policy")), classifier_model=score.model,
                classifier_score=score.score)
    session.add(case)
    session.flush()
    _event(session, case, "bastion", "opened", clock, details={"classifier": score.model, "score": score.score})
    session.add(CaseItem(case_id=case.id, scan_id=scan.id, content_id=scan.content_id, bank_id=0, bank_name="",
                         bank_source=f"{score.model} (score {score.score:.2f})"[:255], entry_id=0,
                         signal_type="classifier", distance=0, category="", media_ref=media_ref, added_at=now))
    session.flush()
    from bastion import timers

    timers.schedule(session, kind=REMOVAL_TIMER, due_at=case.removal_due_at, clock=clock,  # type: ignore[arg-type]
                    subject=f"case:{case.id}", payload={"case_id": case.id}, dedupe_key=f"case:{case.id}:removal")
    routing.route(session, case, clock=clock)
    return case


class ClassifierStep:
    """A scanner listener for uploads that matched nothing: ask the classifier, open a case on a high score."""

    def __init__(self, classifier: Classifier, media: Any | None, clock: Clock) -> None:
        self.classifier, self.media, self.clock = classifier, media, clock

    def __call__(self, session: Session, scan: Any, data: bytes | None) -> Case | None:
        if not data:
            return None
        try:
            score = self.classifier.classify(data)
        except ClassifierError as exc:
            log.warning("classifier signal lost", extra={"scan_id": scan.id, "reason": str(exc)})
            return None
        if score.score < float(get_value(session, THRESHOLD)):
            return None
        ref = self.media.keep(session, data, scan=scan) if self.media is not None else ""
        return open_for_score(session, scan=scan, score=score, media_ref=ref, clock=self.clock)
