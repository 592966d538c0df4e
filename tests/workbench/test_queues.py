"""Queues and routing, case kinds, quality sampling and classifier signals, on both databases."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.audit.models import AuditRecord
from bastion.auth.roles import Role
from bastion.auth.users import acting_user
from bastion.cases import classifiers, routing, sampling, search, service
from bastion.cases.complaints import NCII_PRIORITY, open_for_complaint
from bastion.cases.enforce import Enforcement, decide_case
from bastion.cases.errors import CaseNotFound, DecisionRefused
from bastion.cases.models import Case, CaseEvent
from bastion.clock import ManualClock
from bastion.dev.classifier import MODEL, ClassifierStandinServer
from bastion.errors import InvalidInput
from bastion.orgsettings import set_value
from bastion.scanning.models import Scan


def _match(*, signal: str = "pdq", distance: int = 10, classification: str = "A2", source: str = "industry"):  # type: ignore[no-untyped-def]
    return SimpleNamespace(bank_id=1, bank_name="KNOWN", source=source, entry_id=7, signal_type=signal,
                           distance=distance, classification=classification)


def _scan(db: Session, clock: ManualClock, account: str, **meta: str) -> Scan:
    scan = Scan(created_at=clock.now(), source="upload", content_id=f"post-{account}", account_id=account,
                metadata_json=json.dumps(meta), md5="0" * 32, sha1="0" * 40, sha256="0" * 64)
    db.add(scan)
    db.flush()
    return scan


def _open(db: Session, clock: ManualClock, account: str, *, match=None, **meta: str) -> Case:  # type: ignore[no-untyped-def]
    scan = _scan(db, clock, account, **meta)
    return service.open_or_extend(db, account_id=account, scan_id=scan.id, content_id=scan.content_id,
                                  matches=[match or _match()], media_ref="", clock=clock)


def _queue(db: Session, clock: ManualClock, name: str) -> int:
    return routing.create_queue(db, name=name, actor="lead", clock=clock).id


def _rule(db: Session, clock: ManualClock, name: str, queue_id: int, **conditions) -> None:  # type: ignore[no-untyped-def]
    routing.save_rule(db, routing.RuleInput(name=name, queue_id=queue_id, **conditions), actor="lead", clock=clock)


def test_rules_route_new_cases_by_signal_distance_history_place_and_language(db: Session, clock: ManualClock) -> None:
    exact, close, hindi, repeat = (_queue(db, clock, n) for n in ("Exact", "Close", "Hindi", "Repeat"))
    _rule(db, clock, "repeat uploaders", repeat, position=1, min_prior_cases=1)
    _rule(db, clock, "exact hashes", exact, position=2, signal="exact", sources=["bank", "exchange"])
    _rule(db, clock, "Indian Hindi", hindi, position=3, jurisdictions=["in"], languages=["HI"])
    _rule(db, clock, "near perceptual", close, position=4, signal="perceptual", max_distance=8)

    assert _open(db, clock, "a1", match=_match(signal="md5", distance=0)).queue_id == exact
    assert _open(db, clock, "a2", match=_match(distance=5)).queue_id == close
    assert _open(db, clock, "a3", match=_match(distance=20), country="IN", language="hi").queue_id == hindi
    assert _open(db, clock, "a4", match=_match(distance=20)).queue_id is None  # no rule: the general queue
    old = _open(db, clock, "a5", match=_match(distance=20))
    old.status, old.classification = "closed", "A1"
    db.flush()
    assert _open(db, clock, "a5", match=_match(signal="md5", distance=0)).queue_id == repeat  # history wins first
    routed = db.scalars(select(CaseEvent).where(CaseEvent.kind == "routed")).all()
    assert {json.loads(e.details)["rule"] for e in routed} == {"repeat uploaders", "exact hashes", "Indian Hindi",
                                                                "near perceptual"}


def test_a_rule_that_never_matches_or_loops_is_refused_with_the_reason(db: Session, clock: ManualClock) -> None:
    a, b, c = (_queue(db, clock, n) for n in ("A", "B", "C"))
    with pytest.raises(InvalidInput, match="never match.*carry no hash match"):
        _rule(db, clock, "complaints by distance", a, sources=["complaint"], max_distance=3)
    with pytest.raises(InvalidInput, match="never match.*never carries category ncii"):
        _rule(db, clock, "mixed up", a, kinds=["csam"], categories=["ncii"])
    with pytest.raises(InvalidInput, match="never match.*unknown source"):
        _rule(db, clock, "typo", a, sources=["bnak"])
    _rule(db, clock, "everything", a, position=5)
    with pytest.raises(InvalidInput, match="earlier rule 'everything' takes every case first"):
        _rule(db, clock, "too late", b, position=6, signal="exact")
    _rule(db, clock, "A to B", b, from_queue_id=a, signal="exact")
    _rule(db, clock, "B to C", c, from_queue_id=b, signal="exact")
    with pytest.raises(InvalidInput, match="loop between queues: A → B → C → A"):
        _rule(db, clock, "C to A", a, from_queue_id=c, signal="exact")
    assert len(routing.rules(db)) == 3  # nothing refused was kept
    # forwarding that does not loop works: exact matches go A, then B, then C
    assert _open(db, clock, "x", match=_match(signal="sha256", distance=0)).queue_id == c


def test_a_queue_orders_by_legal_clock_then_severity_then_age(db: Session, clock: ManualClock) -> None:
    q = _queue(db, clock, "Q")
    _rule(db, clock, "all", q)
    late = _open(db, clock, "late", match=_match(classification="A1", distance=0))
    clock.advance(timedelta(minutes=5))
    grave, mild = _open(db, clock, "grave", match=_match(classification="A1")), _open(db, clock, "mild")
    mild.removal_due_at = grave.removal_due_at  # same clock: severity decides
    late.removal_due_at = grave.removal_due_at + timedelta(hours=1)
    clock.advance(timedelta(minutes=5))
    twin = _open(db, clock, "twin", match=_match(classification="A1"))
    twin.removal_due_at, twin.priority = grave.removal_due_at, grave.priority  # same clock and severity: older first
    db.commit()
    assert grave.priority > mild.priority
    page = search.search(db, search.CaseFilter(), queue_id=q, limit=2)
    rest = search.search(db, search.CaseFilter(), queue_id=q, cursor=page.next_cursor, limit=2)
    assert [c.account_id for c in page.rows + rest.rows] == ["grave", "twin", "mild", "late"]
    reviewer = acting_user(db, make_user_in(db, clock))
    assert service.next_case(db, reviewer, clock=clock, visible=None, queue_id=q).account_id == "grave"


def make_user_in(db: Session, clock: ManualClock, role: Role = Role.REVIEWER, name: str = "") -> int:
    from bastion.auth import users

    user = users.create_user(db, username=name or f"{role.value}-{clock.now().timestamp():.0f}-{id(db) % 997}",
                             role=role, password="a-long-test-password-1", email="", actor="test", clock=clock)
    db.flush()
    return user.id


def test_moves_are_audited_and_need_a_reason(db: Session, clock: ManualClock) -> None:
    a, b = _queue(db, clock, "A"), _queue(db, clock, "B")
    case = _open(db, clock, "m")
    with pytest.raises(InvalidInput, match="Say why"):
        routing.move(db, case, a, actor="lead-1", reason=" ", clock=clock)
    routing.move(db, case, a, actor="lead-1", reason="Hindi speaker needed", clock=clock)
    routing.move(db, case, b, actor="lead-1", reason="specialist", clock=clock)
    routing.move(db, case, None, actor="lead-1", reason="back to everyone", clock=clock)
    db.commit()
    moves = db.scalars(select(AuditRecord).where(AuditRecord.action == "case.moved").order_by(AuditRecord.seq)).all()
    assert [(m.actor, json.loads(m.details)["from_queue"], json.loads(m.details)["to_queue"]) for m in moves] == [
        ("lead-1", "general", "A"), ("lead-1", "A", "B"), ("lead-1", "B", "general")]
    assert case.queue_id is None


def test_a_reviewer_sees_and_takes_only_their_queues(db: Session, clock: ManualClock) -> None:
    ncii, csam = _queue(db, clock, "NCII"), _queue(db, clock, "CSAM")
    _rule(db, clock, "csam", csam, kinds=["csam"])
    other = _open(db, clock, "o", match=_match(classification="A1", distance=0))
    mine = open_for_complaint(db, reference="GR-1", category="ncii", content_ref="post-9", jurisdiction="IN",
                              received_at=clock.now(), clock=clock)
    assert mine is not None and mine.queue_id is None
    routing.move(db, mine, ncii, actor="lead", reason="Rule 3(2)(b) desk", clock=clock)
    uid = make_user_in(db, clock)
    routing.set_members(db, routing.get_queue(db, ncii), [uid], actor="lead", clock=clock)
    db.commit()
    visible = routing.visible_queue_ids(db, uid, sees_all=False)
    seen = search.search(db, search.CaseFilter(), visible=visible).rows
    assert [c.id for c in seen] == [mine.id]
    assert other.id in [c.id for c in search.search(db, search.CaseFilter(), visible=None).rows]
    user = acting_user(db, uid)
    with pytest.raises(CaseNotFound):
        service.claim(db, other, user, clock=clock, visible=visible)
    assert service.next_case(db, user, clock=clock, visible=visible).id == mine.id


def test_an_ncii_complaint_case_tops_the_queue_with_its_own_classifications_and_no_ncmec_report(
        db: Session, clock: ManualClock) -> None:
    for i in range(3):
        _open(db, clock, f"grave-{i}", match=_match(signal="md5", distance=0, classification="A1"))
    clock.advance(timedelta(hours=2))
    case = open_for_complaint(db, reference="GR-2026-000042", category="ncii", content_ref="post-77",
                              jurisdiction="IN", received_at=clock.now() - timedelta(hours=1), clock=clock)
    assert open_for_complaint(db, reference="GR-2026-000042", category="ncii", content_ref="post-77",
                              jurisdiction="IN", received_at=clock.now(), clock=clock) is case  # once per complaint
    assert open_for_complaint(db, reference="GR-x", category="tos", content_ref="p", jurisdiction="IN",
                              received_at=clock.now(), clock=clock) is None
    db.commit()
    assert case.kind == "ncii" and case.priority == NCII_PRIORITY
    assert case.removal_due_at == clock.now() + timedelta(hours=23) and "3(2)(b)" in case.removal_policy
    assert search.search(db, search.CaseFilter()).rows[0].id == case.id
    reviewer = acting_user(db, make_user_in(db, clock))
    assert service.next_case(db, reviewer, clock=clock).id == case.id
    item = service.items_of(db, case.id)[0]
    service.mark_viewed(db, item)  # a reveal is needed, as for any match (wellness.reveal in the pages)
    with pytest.raises(DecisionRefused, match="intimate, morphed"):
        service.confirm_item(db, case, item, reviewer, classification="A1", annotations=[], clock=clock)
    service.confirm_item(db, case, item, reviewer, classification="intimate", annotations=[], clock=clock)
    assert decide_case(db, case, reviewer, Enforcement(restrict=""), clock=clock) == "confirmed"
    kinds = [e.kind for e in service.events_of(db, case.id)]
    assert "actions_requested" in kinds and "report_requested" not in kinds  # NCMEC takes CSAM only
    from bastion.ncmec.reports import requested_cases

    assert case.id not in [c.id for c in requested_cases(db)]


def test_a_sampled_decision_gets_a_blind_second_opinion_and_agreement_is_counted(
        db: Session, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    q = _queue(db, clock, "Sampled")
    _rule(db, clock, "all", q)
    set_value(db, sampling.SAMPLE_PERCENT, "50", actor="admin", clock=clock)
    first, second = (acting_user(db, make_user_in(db, clock, name=n)) for n in ("first", "second"))
    draws = iter([0.1, 0.9, 0.2])  # 10% and 20% fall inside a 50% sample; 90% does not
    monkeypatch.setattr(sampling.draw, "random", lambda: next(draws))
    samples = []
    for n in range(3):
        case = _open(db, clock, f"s{n}", match=_match(signal="md5", distance=0, classification="A1"))
        service.claim(db, case, first, clock=clock)
        item = service.items_of(db, case.id)[0]
        service.mark_viewed(db, item)
        service.confirm_item(db, case, item, first, classification="A1", annotations=[], clock=clock)
        decide_case(db, case, first, Enforcement(), clock=clock)
        samples.append(db.scalar(select(sampling.QualitySample).where(sampling.QualitySample.case_id == case.id)))
    assert samples[0] is not None and samples[1] is None and samples[2] is not None
    assert sampling.waiting_for(db, first.id, visible=None) == []  # never your own decision
    assert len(sampling.waiting_for(db, second.id, visible=None)) == 2
    with pytest.raises(InvalidInput, match="someone other"):
        sampling.second_opinion(db, samples[0], first, confirmed=True, classification="A1", clock=clock)
    sampling.second_opinion(db, samples[0], second, confirmed=True, classification="A1", clock=clock)
    sampling.second_opinion(db, samples[2], second, confirmed=True, classification="B2", clock=clock)
    assert samples[0].status == "agreed" and samples[2].status == "to_lead"
    assert [s.id for s in sampling.for_lead(db)] == [samples[2].id]
    with pytest.raises(InvalidInput, match="which outcome stands"):
        sampling.settle(db, samples[2], lead="lead", note="", clock=clock)
    sampling.settle(db, samples[2], lead="lead", note="A1: the entry is listed A1 and the image agrees", clock=clock)
    db.commit()
    [mine] = sampling.by_reviewer(db)
    assert (mine.name, mine.compared, mine.matched, mine.rate) == ("first", 2, 1, 0.5)
    assert [(a.name, a.compared, a.matched) for a in sampling.by_queue(db)] == [("Sampled", 2, 1)]


def _png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(out, format="PNG")
    return out.getvalue()


def test_a_classifier_over_http_routes_and_ranks_but_never_acts(db: Session, clock: ManualClock) -> None:
    q = _queue(db, clock, "Classifier")
    _rule(db, clock, "high scores", q, sources=["classifier"], min_score=0.9)
    with ClassifierStandinServer("operator-key") as server:
        client = classifiers.HttpClassifier(server.base_url, "operator-key")
        step = classifiers.ClassifierStep(client, None, clock)
        red, pink, blue = (_scan(db, clock, n) for n in ("red", "pink", "blue"))
        high = step(db, red, _png((255, 0, 0)))
        middling = step(db, pink, _png((255, 40, 40)))
        low = step(db, blue, _png((0, 0, 255)))
        with pytest.raises(classifiers.ClassifierError, match="answered 401"):
            classifiers.HttpClassifier(server.base_url, "wrong").classify(_png((255, 0, 0)))
        assert server.calls == 3
        client.close()
    assert low is None  # under classifier.review_threshold (0.8): no case
    assert high is not None and middling is not None
    assert (high.source, high.classifier_model, high.queue_id) == ("classifier", MODEL, q)
    assert high.classifier_score == 1.0 and 0.8 <= middling.classifier_score < 0.9  # type: ignore[operator]
    assert middling.queue_id is None and high.priority > middling.priority  # the score sets queue and priority
    db.commit()
    for case in (high, middling):
        assert case.status == "new" and case.auto_actioned_at is None  # a person decides
        assert "classifier" in service.items_of(db, case.id)[0].signal_type
    assert not db.scalars(select(AuditRecord).where(AuditRecord.action == "case.auto_actioned")).all()
