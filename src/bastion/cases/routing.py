"""Named review queues, the ordered rules that fill them, who works which queue, and moves between them.

A new case is routed once, when it opens: the first enabled rule whose every condition holds
sends it to that rule's queue; then forwarding rules (`from_queue_id`) of that queue may send it
on. A case no rule takes stays unrouted, in the general queue every reviewer sees.

Rules are checked when saved, so that a mistake shows at once rather than as a silent queue: a
rule whose conditions can never all hold (or that an earlier catch-all always wins over) is
refused, and so is a set of forwarding rules that could send a case round in a loop.

Inside a queue the order is the legal clock (removal due soonest), then severity (priority),
then age. A reviewer sees the cases of the queues they are assigned to and unrouted ones (so,
with no queues defined, everything, as before queues existed); leads and admins see all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.cases.models import Case, CaseEvent, CaseItem, QueueMember, ReviewQueue, RoutingRule
from bastion.clock import Clock
from bastion.errors import InvalidInput, NotFound

SOURCES = {"bank": "Bank match", "exchange": "Exchange (shared hash list)", "complaint": "Complaint",
           "classifier": "Classifier score"}
SIGNALS = {"": "Any", "exact": "Exact hash (MD5, SHA-256)", "perceptual": "Perceptual (PDQ, video)"}
EXACT = ("md5", "sha1", "sha256")
#: Sources that carry no hash match: a signal type or a distance condition can never hold for them.
UNHASHED = ("complaint", "classifier")
MAX_HOPS = 10


@dataclass(frozen=True)
class Facts:
    """What routing may look at about a case."""

    kind: str
    source: str
    categories: frozenset[str]
    signals: frozenset[str]  # exact, perceptual
    distance: int | None
    prior_cases: int
    jurisdiction: str
    language: str
    score: float | None
    queue_id: int | None = None


@dataclass
class RuleInput:
    """A rule as typed into the page or the API; every condition optional."""

    name: str
    queue_id: int
    position: int = 0
    enabled: bool = True
    from_queue_id: int | None = None
    kinds: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    signal: str = ""
    max_distance: int | None = None
    min_prior_cases: int | None = None
    jurisdictions: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    min_score: float | None = None


# -- queues and members ---------------------------------------------------------------------------

def queues(session: Session) -> list[ReviewQueue]:
    return list(session.scalars(select(ReviewQueue).order_by(ReviewQueue.name)))


def get_queue(session: Session, queue_id: int) -> ReviewQueue:
    queue = session.get(ReviewQueue, queue_id)
    if queue is None:
        raise NotFound(f"No review queue {queue_id}; pick one from the queues page.")
    return queue


def queue_by_name(session: Session, name: str) -> ReviewQueue | None:
    return session.scalar(select(ReviewQueue).where(ReviewQueue.name == name))


def create_queue(session: Session, *, name: str, description: str = "", actor: str, clock: Clock) -> ReviewQueue:
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise InvalidInput("Give the queue a name of 1 to 100 characters.")
    if queue_by_name(session, name) is not None:
        raise InvalidInput(f"A queue called {name!r} exists already; choose another name.")
    queue = ReviewQueue(name=name, description=description.strip()[:2000], created_at=clock.now(), created_by=actor)
    session.add(queue)
    session.flush()
    audit.record(session, actor=actor, action="queue.create", subject=f"queue:{queue.id}", clock=clock,
                 details={"name": name})
    return queue


def update_queue(session: Session, queue: ReviewQueue, *, name: str | None = None, description: str | None = None,
                 actor: str, clock: Clock) -> ReviewQueue:
    """Rename a queue or change its description (audited with before and after); names stay unique."""
    before = {"name": queue.name, "description": queue.description}
    if name is not None:
        name = " ".join(name.split())
        if not name or len(name) > 100:
            raise InvalidInput("Give the queue a name of 1 to 100 characters.")
        other = queue_by_name(session, name)
        if other is not None and other.id != queue.id:
            raise InvalidInput(f"A queue called {name!r} exists already; choose another name.")
        queue.name = name
    if description is not None:
        queue.description = description.strip()[:2000]
    session.flush()
    audit.record(session, actor=actor, action="queue.update", subject=f"queue:{queue.id}", clock=clock,
                 details={"before": before, "after": {"name": queue.name, "description": queue.description}})
    return queue


def delete_queue(session: Session, queue: ReviewQueue, *, actor: str, clock: Clock) -> None:
    """Remove an empty queue. Refused while open cases sit in it or rules send cases to or from it:
    deleting would silently drop those rules and send the cases to the general queue."""
    still_open = ("new", "in_review", "escalated")  # service.OPEN; service imports this module, not the reverse
    waiting = session.scalar(select(func.count()).select_from(Case).where(Case.queue_id == queue.id,
                                                                          Case.status.in_(still_open))) or 0
    if waiting:
        raise InvalidInput(f"Queue {queue.name!r} still holds {waiting} open case(s); move them to another queue "
                           "first.")
    using = [r.name for r in rules(session) if queue.id in (r.queue_id, r.from_queue_id)]
    if using:
        raise InvalidInput(f"Queue {queue.name!r} is used by routing rule(s) {', '.join(using)}; change or delete "
                           "them first.")
    audit.record(session, actor=actor, action="queue.delete", subject=f"queue:{queue.id}", clock=clock,
                 details={"name": queue.name})
    session.delete(queue)
    session.flush()


def members(session: Session, queue_id: int) -> list[int]:
    return list(session.scalars(select(QueueMember.user_id).where(QueueMember.queue_id == queue_id)))


def set_members(session: Session, queue: ReviewQueue, user_ids: list[int], *, actor: str, clock: Clock) -> None:
    """Assign exactly these reviewers to the queue (audited with who joined and who left)."""
    before = set(members(session, queue.id))
    after = set(user_ids)
    from bastion.auth.models import User

    unknown = sorted(after - set(session.scalars(select(User.id).where(User.id.in_(after))))) if after else []
    if unknown:
        raise InvalidInput(f"No user {', '.join(map(str, unknown))}; assign reviewers by their user id.")
    session.execute(delete(QueueMember).where(QueueMember.queue_id == queue.id,
                                              QueueMember.user_id.in_(before - after)))
    for user_id in sorted(after - before):
        session.add(QueueMember(queue_id=queue.id, user_id=user_id))
    session.flush()
    audit.record(session, actor=actor, action="queue.members", subject=f"queue:{queue.id}", clock=clock,
                 details={"added": sorted(after - before), "removed": sorted(before - after)})


def assigned_queues(session: Session, user_id: int) -> list[int]:
    return list(session.scalars(select(QueueMember.queue_id).where(QueueMember.user_id == user_id)))


def visible_queue_ids(session: Session, user_id: int, *, sees_all: bool) -> list[int] | None:
    """The queues whose cases this person may see (None: every case). Unrouted cases are always visible."""
    return None if sees_all else assigned_queues(session, user_id)


def scope_clause(visible: list[int] | None) -> Any:
    """A WHERE clause limiting cases to `visible` queues plus unrouted ones (None: no limit)."""
    if visible is None:
        return None
    return or_(Case.queue_id.is_(None), Case.queue_id.in_(visible))


def may_see(case: Case, visible: list[int] | None) -> bool:
    return visible is None or case.queue_id is None or case.queue_id in visible


def order_in_queue() -> tuple[Any, ...]:
    """Legal clock first, then severity, then age."""
    return (Case.removal_due_at.asc().nulls_last(), Case.priority.desc(), Case.opened_at.asc(), Case.id.asc())


# -- rules ------------------------------------------------------------------------------------------

def rules(session: Session) -> list[RoutingRule]:
    return list(session.scalars(select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id)))


def _words(values: list[str]) -> str:
    return " ".join(dict.fromkeys(v.strip() for v in values if v.strip()))


def _never_matches(rule: RuleInput) -> str:
    """Why the rule's conditions can never all hold together ('' when they can)."""
    from bastion.cases.kinds import CATEGORY_KIND, KINDS

    for what, values, known in (("source", rule.sources, SOURCES), ("case kind", rule.kinds, KINDS)):
        unknown = [v for v in values if v not in known]
        if unknown:
            return f"unknown {what} {', '.join(unknown)} (known: {', '.join(known)})"
    if rule.signal not in SIGNALS:
        return f"unknown signal type {rule.signal!r} (exact or perceptual)"
    unknown = [c for c in rule.categories if c not in CATEGORY_KIND]
    if unknown:
        return f"unknown category {', '.join(unknown)} (known: {', '.join(CATEGORY_KIND)})"
    if rule.kinds and rule.categories and not {CATEGORY_KIND[c] for c in rule.categories} & set(rule.kinds):
        return (f"a case of kind {', '.join(rule.kinds)} never carries category {', '.join(rule.categories)}")
    hashed = [s for s in (rule.sources or list(SOURCES)) if s not in UNHASHED]
    if (rule.signal or rule.max_distance is not None) and not hashed:
        return f"cases from {', '.join(rule.sources)} carry no hash match, so a signal type or distance never holds"
    if rule.max_distance is not None and rule.max_distance < 0:
        return "a distance is never below 0"
    if rule.min_prior_cases is not None and rule.min_prior_cases < 0:
        return "an account never has fewer than 0 prior cases"
    if rule.min_score is not None and not 0 <= rule.min_score <= 1:
        return "a classifier score lies between 0 and 1"
    if rule.min_score is not None and rule.sources and "classifier" not in rule.sources:
        return "only cases from a classifier carry a score"
    if rule.from_queue_id is not None and rule.from_queue_id == rule.queue_id:
        return "it forwards a queue's cases to the same queue"
    return ""


def _catch_all(rule: RoutingRule) -> bool:
    return not any((rule.kinds, rule.categories, rule.sources, rule.signal, rule.jurisdictions, rule.languages,
                    rule.max_distance is not None, rule.min_prior_cases is not None, rule.min_score is not None))


def _loop(edges: dict[int, set[int]]) -> list[int]:
    """A cycle in the forwarding graph (queue ids in order), or []."""
    state: dict[int, int] = {}
    path: list[int] = []

    def visit(node: int) -> list[int]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 2
        path.pop()
        return []

    for start in sorted(edges):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return []


def save_rule(session: Session, data: RuleInput, *, actor: str, clock: Clock, rule_id: int | None = None
              ) -> RoutingRule:
    """Create or change a rule; refused, saying why, if it could never match or would make a loop."""
    data.name = " ".join(data.name.split())[:100]
    if not data.name:
        raise InvalidInput("Give the rule a name, so the 'why is this here' line can cite it.")
    get_queue(session, data.queue_id)
    if data.from_queue_id is not None:
        get_queue(session, data.from_queue_id)
    why = _never_matches(data)
    if why:
        raise InvalidInput(f"Rule {data.name!r} would never match: {why}. Change its conditions.")
    existing = [r for r in rules(session) if r.id != rule_id]
    if data.enabled:
        earlier = [r for r in existing if r.enabled and r.position <= data.position
                   and r.from_queue_id == data.from_queue_id and _catch_all(r)]
        if earlier:
            raise InvalidInput(f"Rule {data.name!r} would never match: the earlier rule {earlier[0].name!r} takes "
                               "every case first. Give it a lower position, or narrow the earlier rule.")
    edges: dict[int, set[int]] = {}
    for r in existing:
        if r.enabled and r.from_queue_id is not None:
            edges.setdefault(r.from_queue_id, set()).add(r.queue_id)
    if data.enabled and data.from_queue_id is not None:
        edges.setdefault(data.from_queue_id, set()).add(data.queue_id)
    cycle = _loop(edges)
    if cycle:
        names = dict(session.execute(select(ReviewQueue.id, ReviewQueue.name)).all())
        route = " → ".join(names.get(q, str(q)) for q in cycle)
        raise InvalidInput(f"Rule {data.name!r} would make cases loop between queues: {route}. "
                           "Remove one of the forwarding rules in that circle.")
    rule = session.get(RoutingRule, rule_id) if rule_id is not None else None
    if rule_id is not None and rule is None:
        raise NotFound(f"No routing rule {rule_id}.")
    if rule is None:
        rule = RoutingRule()
        session.add(rule)
    rule.name, rule.position, rule.enabled, rule.queue_id = data.name, data.position, data.enabled, data.queue_id
    rule.from_queue_id = data.from_queue_id
    rule.kinds, rule.categories, rule.sources = _words(data.kinds), _words(data.categories), _words(data.sources)
    rule.signal, rule.max_distance, rule.min_prior_cases = data.signal, data.max_distance, data.min_prior_cases
    rule.jurisdictions = _words([j.upper() for j in data.jurisdictions])
    rule.languages = _words([language.lower() for language in data.languages])
    rule.min_score, rule.updated_at, rule.updated_by = data.min_score, clock.now(), actor
    session.flush()
    audit.record(session, actor=actor, action="queue.rule_saved", subject=f"routing_rule:{rule.id}", clock=clock,
                 details={"name": rule.name, "queue": rule.queue_id, "position": rule.position,
                          "enabled": rule.enabled})
    return rule


def delete_rule(session: Session, rule_id: int, *, actor: str, clock: Clock) -> None:
    rule = session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound(f"No routing rule {rule_id}.")
    session.delete(rule)
    audit.record(session, actor=actor, action="queue.rule_deleted", subject=f"routing_rule:{rule_id}", clock=clock,
                 details={"name": rule.name})


def matches(rule: RoutingRule, facts: Facts) -> bool:
    if rule.from_queue_id is not None and rule.from_queue_id != facts.queue_id:
        return False
    if rule.from_queue_id is None and facts.queue_id is not None:
        return False
    if rule.kinds and facts.kind not in rule.kinds.split():
        return False
    if rule.sources and facts.source not in rule.sources.split():
        return False
    if rule.categories and not facts.categories & set(rule.categories.split()):
        return False
    if rule.signal and rule.signal not in facts.signals:
        return False
    if rule.max_distance is not None and (facts.distance is None or facts.distance > rule.max_distance):
        return False
    if rule.min_prior_cases is not None and facts.prior_cases < rule.min_prior_cases:
        return False
    if rule.jurisdictions and facts.jurisdiction.upper() not in rule.jurisdictions.split():
        return False
    if rule.languages and facts.language.lower() not in rule.languages.split():
        return False
    if rule.min_score is not None and (facts.score is None or facts.score < rule.min_score):
        return False
    return True


def facts_of(session: Session, case: Case) -> Facts:
    items = list(session.scalars(select(CaseItem).where(CaseItem.case_id == case.id)))
    hashed = [i for i in items if i.signal_type not in UNHASHED]
    prior = session.scalar(select(func.count()).select_from(Case).where(
        Case.account_id == case.account_id, Case.id != case.id, Case.status.in_(("confirmed", "actioned", "closed")),
        Case.classification != "")) or 0
    return Facts(kind=case.kind, source=case.source, categories=frozenset(i.category for i in items if i.category),
                 signals=frozenset("exact" if i.signal_type in EXACT else "perceptual" for i in hashed),
                 distance=min((i.distance for i in hashed), default=None), prior_cases=int(prior),
                 jurisdiction=case.jurisdiction, language=case.language, score=case.classifier_score,
                 queue_id=case.queue_id)


def route(session: Session, case: Case, *, clock: Clock) -> RoutingRule | None:
    """Send a case to the queue of the first matching rule, then through forwarding rules. Returns the last rule."""
    ordered = [r for r in rules(session) if r.enabled]
    last: RoutingRule | None = None
    seen: set[int | None] = {case.queue_id}
    for _ in range(MAX_HOPS):  # saving refuses loops; the bound is a second guard, never relied on
        facts = facts_of(session, case)
        rule = next((r for r in ordered if matches(r, facts)), None)
        if rule is None or rule.queue_id in seen:
            break
        _place(session, case, rule.queue_id, actor="bastion", clock=clock, kind="routed",
               details={"rule": rule.name, "rule_id": rule.id})
        seen.add(rule.queue_id)
        last = rule
    return last


def _place(session: Session, case: Case, queue_id: int | None, *, actor: str, clock: Clock, kind: str,
           details: dict[str, Any]) -> None:
    names = dict(session.execute(select(ReviewQueue.id, ReviewQueue.name)).all())
    info = {"from_queue": names.get(case.queue_id, "general") if case.queue_id else "general",
            "to_queue": names.get(queue_id, "general") if queue_id else "general", **details}
    session.add(CaseEvent(case_id=case.id, at=clock.now(), actor=actor[:200], kind=kind, from_status=case.status,
                          to_status=case.status, details=json.dumps(info, default=str)))
    audit.record(session, actor=actor, action=f"case.{kind}", subject=f"case:{case.id}", clock=clock, details=info)
    case.queue_id = queue_id


def move(session: Session, case: Case, queue_id: int | None, *, actor: str, reason: str, clock: Clock) -> None:
    """A person moves a case to another queue (None: the general queue); always with a reason, always audited."""
    if not reason.strip():
        raise InvalidInput("Say why the case moves; the next reviewer reads it in the case's history.")
    if queue_id is not None:
        get_queue(session, queue_id)
    if queue_id == case.queue_id:
        raise InvalidInput("The case is in that queue already.")
    _place(session, case, queue_id, actor=actor, clock=clock, kind="moved", details={"reason": reason.strip()[:500]})
    case.updated_at = clock.now()


def queue_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(ReviewQueue.id, ReviewQueue.name)).all())
