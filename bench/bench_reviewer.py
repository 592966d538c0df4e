#!/usr/bin/env python3
"""A scripted reviewer: interactions per decision, today's flow against the review workbench.

Manual, never part of the test run (tests/browser/test_reviewer_bench.py runs the same code on 8 cases)::

    python bench/bench_reviewer.py                          # 200 cases
    python bench/bench_reviewer.py --cases 200 --out bench/results/reviewer.json

Why a bench and not a test: what matters is how many clicks and keys a reviewer spends per decision,
and that is a number to watch, not a threshold to assert. The same 200 synthetic benign cases (40%
exact MD5 matches of a few entries of a hash list, 35% PDQ near matches, 25% false positives, all
made by the scanner the app itself uses) are seeded twice, into two fresh instances, and one
scripted reviewer in Debian's chromium works through each:

- today: Review next, reveal the item, decide it with the mouse, Conclude, back to the queue;
- workbench: queues and routing rules, an exact-match auto-action policy on the high-confidence
  hash list (with policy allowing its exact matches to be confirmed unseen), a bulk decision per
  shared bank entry, then the perceptual queue from the keyboard: r (reveal), then c (confirm with
  the classification shown) or x, the reason and Enter; each decides and goes on, concluding the case
  when its last item is decided and opening the next case of the same queue.

Every click, key press, navigation and filled field goes through one counter; a typed reason
counts as one interaction (its characters are reported apart). At the end each instance's
database must show every case concluded with the decision its scenario intended, or the run fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
try:
    import bastion  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT / "src"))

import pyotp  # noqa: E402
import uvicorn  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bastion.auth import totp, users  # noqa: E402
from bastion.auth.roles import Role  # noqa: E402
from bastion.banks import service as banks  # noqa: E402
from bastion.cases import autoaction, routing  # noqa: E402
from bastion.cases.models import Case, CaseItem  # noqa: E402
from bastion.clock import SystemClock  # noqa: E402
from bastion.config import Settings  # noqa: E402
from bastion.db import make_engine, make_sessionmaker, migrate  # noqa: E402
from bastion.dev.pictures import ALTERATIONS, encode, picture  # noqa: E402
from bastion.media import hash_media  # noqa: E402
from bastion.orgsettings.store import set_value  # noqa: E402
from bastion.scanning.service import UploadMeta  # noqa: E402
from bastion.web.app import create_app  # noqa: E402

CHROMIUM = os.environ.get("BASTION_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
REVIEWER, PASSWORD = "bench-reviewer", "a-long-bench-password-1"
HASH_LIST, PERCEPTUAL = "HASHLIST_MD5", "KNOWN_PDQ"
CLASSIFICATION = "A1"
REASON = "a landscape, not the listed picture"
CASES_PER_ENTRY = 20  # exact matches share a few hash-list entries, as re-uploads of one file do
NEAR_ALTERATIONS = ("resized", "recompressed")
MIN_QUALITY, MAX_DISTANCE = 60, 20  # well inside what the scanner matches (quality >= 50, distance <= 31)
CONCLUDED = ("confirmed", "actioned", "dismissed")


# -- the scenario ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Upload:
    """One seeded case: an account's upload and the decision a careful reviewer would make on it."""

    account: str
    content: str
    mix: str  # exact | near | false_positive
    seed: int
    intended: str  # confirmed | not_match


def scenario(cases: int) -> list[Upload]:
    """40% exact, 35% near, 25% false positives (at least one of each), interleaved as uploads arrive."""
    exact = max(1, round(cases * 0.40))
    false_positive = max(1, round(cases * 0.25))
    near = max(1, cases - exact - false_positive)
    entries = max(1, exact // CASES_PER_ENTRY)
    kinds = ["exact"] * exact + ["near"] * near + ["false_positive"] * false_positive
    kinds = [kinds[(i * 7) % len(kinds)] for i in range(len(kinds))] if len(kinds) % 7 else kinds
    plan, counters = [], {"exact": 0, "near": 0, "false_positive": 0}
    for number, mix in enumerate(kinds, start=1):
        n = counters[mix]
        counters[mix] += 1
        seed = {"exact": 1 + n % entries, "near": 1000 + n, "false_positive": 5000 + n}[mix]
        plan.append(Upload(f"acct-{number:04d}", f"post-{number:04d}", mix, seed,
                           "not_match" if mix == "false_positive" else "confirmed"))
    return plan


def _bytes(seed: int, alteration: str = "") -> bytes:
    image = picture(_picture_seed(seed), (320, 240))
    return encode(ALTERATIONS[alteration](image) if alteration else image)


@lru_cache(maxsize=None)
def _picture_seed(seed: int) -> int:
    """The first picture from `seed * 100` on whose PDQ is clear enough to survive every alteration here.

    Some random scenes are too flat for PDQ (quality under 50: the scanner rightly ignores them);
    a near match in the scenario must really be matched, so those pictures are skipped.
    """
    for candidate in range(seed * 100, seed * 100 + 100):
        image = picture(candidate, (320, 240))
        original = hash_media(encode(image))
        altered = [hash_media(encode(alter(image))) for alter in (ALTERATIONS[a] for a in NEAR_ALTERATIONS)]
        if all(h.pdq_quality >= MIN_QUALITY and _distance(h.pdq, original.pdq) <= MAX_DISTANCE for h in altered) \
                and original.pdq_quality >= MIN_QUALITY:
            return candidate
    raise RuntimeError(f"no clear picture near seed {seed}")


def _distance(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


# -- one instance --------------------------------------------------------------------------------------

@dataclass
class World:
    url: str
    totp_secret: str
    sessions: Any
    plan: list[Upload]
    queues: dict[str, int] = field(default_factory=dict)


def _seed_banks(session: Any, plan: list[Upload], *, workbench: bool, clock: SystemClock) -> None:
    """A hash list of MD5s (high-confidence in the workbench) and a perceptual bank of PDQs."""
    exact = banks.create_bank(session, name=HASH_LIST, source="industry", actor="bench", clock=clock)
    pdq = banks.create_bank(session, name=PERCEPTUAL, source="industry", actor="bench", clock=clock)
    for seed in sorted({u.seed for u in plan if u.mix == "exact"}):
        banks.add_entry(session, exact, {"md5": hash_media(_bytes(seed)).md5}, actor="bench", clock=clock,
                        external_id=f"list-{seed}", source="industry", classification=CLASSIFICATION, audited=False)
    for upload in plan:
        if upload.mix != "exact":
            banks.add_entry(session, pdq, {"pdq": hash_media(_bytes(upload.seed)).pdq}, actor="bench", clock=clock,
                            external_id=f"pdq-{upload.seed}", source="industry", classification=CLASSIFICATION,
                            audited=False)
    session.flush()
    if workbench:
        autoaction.set_high_confidence(session, exact.id, True, actor="bench", clock=clock)
        autoaction.save_policy(session, name="exact hash list", enabled=True, signal_types=["md5"], remove=True,
                               preserve=True, suspend=True, actor="bench", clock=clock)
        set_value(session, "review.action_without_viewing", CLASSIFICATION, actor="bench", clock=clock)


def _seed_queues(session: Any, user_id: int, clock: SystemClock) -> dict[str, int]:
    """Exact matches and perceptual matches each get a queue the reviewer works; rules fill them."""
    made = {}
    for name, signal in (("Exact hash matches", "exact"), ("Perceptual matches", "perceptual")):
        queue = routing.create_queue(session, name=name, actor="bench", clock=clock)
        routing.set_members(session, queue, [user_id], actor="bench", clock=clock)
        routing.save_rule(session, routing.RuleInput(name=f"{signal} to {name}", queue_id=queue.id, signal=signal),
                          actor="bench", clock=clock)
        made[signal] = queue.id
    return made


def _scan_uploads(state: Any, sessions: Any, plan: list[Upload]) -> None:
    """Every upload goes through the app's own scanner, which opens the cases (and runs policies)."""
    state.matcher.refresh()
    with sessions() as session:
        for n, upload in enumerate(plan):
            alteration = "" if upload.mix == "exact" else NEAR_ALTERATIONS[n % len(NEAR_ALTERATIONS)]
            result = state.scanner.scan_bytes(session, _bytes(upload.seed, alteration),
                                              UploadMeta(content_id=upload.content, account_id=upload.account),
                                              source="upload", actor="bench")
            if not result.outcome.matches:
                raise RuntimeError(f"{upload.content} ({upload.mix}) matched nothing; the scenario is broken")
            session.commit()


@contextmanager
def world(folder: Path, plan: list[Upload], *, workbench: bool) -> Iterator[World]:
    """A fresh instance (SQLite in `folder`) with the reviewer, the banks and every case opened."""
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder}/bastion.sqlite3"
    key = secrets.token_hex(24)
    engine = make_engine(url)
    migrate.upgrade(engine)
    app = create_app(Settings(data_dir=folder / "var", database_url=url, secret_key=key, index_refresh_seconds=0),
                     engine=engine)
    sessions, clock, secret = make_sessionmaker(engine), SystemClock(), totp.new_secret()
    with sessions() as session:
        user = users.create_user(session, username=REVIEWER, role=Role.REVIEWER, password=PASSWORD, email="",
                                 actor="bench", clock=clock)
        user.totp_secret, user.totp_enabled = totp.encrypt_secret(secret, key.encode()), True
        session.flush()
        _seed_banks(session, plan, workbench=workbench, clock=clock)
        queues = _seed_queues(session, user.id, clock) if workbench else {}
        session.commit()
    _scan_uploads(app.state.bastion, sessions, plan)
    with _serve(app) as base:
        yield World(base, secret, sessions, plan, queues)
    engine.dispose()


@contextmanager
def _serve(app: Any) -> Iterator[str]:
    """uvicorn in a thread on a free loopback port."""
    import socket
    import threading

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the bench server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# -- the reviewer --------------------------------------------------------------------------------------

@dataclass
class Tally:
    clicks: int = 0  # mouse clicks, including following a link or opening a bookmarked page
    keys: int = 0  # single key presses (shortcuts, Tab, Enter)
    fields: int = 0  # text typed into a field, once per field
    typed_chars: int = 0  # the characters of that text, reported apart
    decisions: int = 0
    seconds: float = 0.0
    by_mix: dict[str, int] = field(default_factory=dict)  # interactions spent on each kind of case

    @property
    def interactions(self) -> int:
        return self.clicks + self.keys + self.fields


class Reviewer:
    """The page, with every act a person would do going through a counter."""

    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base, self.tally = page, base, Tally()

    def charge(self, mix: str, since: int) -> None:
        """Book the interactions since `since` to one kind of case; what is booked nowhere is overhead."""
        self.tally.by_mix[mix] = self.tally.by_mix.get(mix, 0) + self.tally.interactions - since

    def open(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.tally.clicks += 1

    def click(self, selector: str) -> None:
        self.page.click(selector)
        self.tally.clicks += 1

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.tally.keys += 1

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.tally.fields += 1
        self.tally.typed_chars += len(text)

    def choose(self, selector: str, value: str) -> None:
        """Pick from a list, only when it does not already show the right value (a person would not)."""
        if self.page.input_value(selector) != value:
            self.page.select_option(selector, value)
            self.tally.clicks += 1


def sign_in(page: Any, base: str, secret: str) -> None:
    """Not counted: signing in is the same for both flows and not part of deciding."""
    page.goto(f"{base}/login")
    page.fill("#username", REVIEWER)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/login/totp$"))
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("#totp-submit")
    page.wait_for_url(re.compile(r"/$"))


def _intended(plan: list[Upload]) -> dict[str, str]:
    return {u.content: u.intended for u in plan}


def _mix(plan: list[Upload]) -> dict[str, str]:
    return {u.content: u.mix for u in plan}


def _pending_items(page: Any) -> list[tuple[str, str]]:
    """(item id, content id) of every item still to decide on the open case page."""
    found = []
    for article in page.locator("article.item").all():
        if article.locator("form.confirm").count():
            found.append((article.get_attribute("data-item"), article.locator("dl.meta dd").first.inner_text()))
    return found


def _on_case(page: Any) -> bool:
    page.wait_for_load_state()
    return re.search(r"/cases/\d+", page.url) is not None


def today(reviewer: Reviewer, plan: list[Upload]) -> None:
    """Review next, reveal, decide with the mouse, Conclude, back to the queue; until nothing is left."""
    page, intended, mix = reviewer.page, _intended(plan), _mix(plan)
    reviewer.open("/review")
    while True:
        since = reviewer.tally.interactions
        reviewer.click("#next-case")
        if not _on_case(page):
            return
        pending = _pending_items(page)
        for item, content in pending:
            card = f"#item-{item}"
            reviewer.click(f"{card} button.reveal")
            page.wait_for_selector(f"{card} img.revealed")
            if intended[content] == "confirmed":
                reviewer.choose(f"{card} form.confirm select", CLASSIFICATION)
                reviewer.click(f"{card} button.confirm-btn")
            else:
                reviewer.click(f"{card} form.reject input[name=reason]")
                reviewer.type(REASON)
                reviewer.click(f"{card} button.reject-btn")
            page.wait_for_selector(f"{card} .decision[data-decision='{intended[content]}']")
            reviewer.tally.decisions += 1
        reviewer.click("#conclude-submit")
        page.wait_for_selector("#case-status:not(:text('in_review'))")
        reviewer.click("nav a[href='/review']")
        reviewer.charge(mix[pending[0][1]], since)


def workbench(reviewer: Reviewer, plan: list[Upload], queues: dict[str, int]) -> None:
    """Bulk-decide the exact queue one bank entry at a time, then Submit & Next from the keyboard."""
    page = reviewer.page
    reviewer.open("/review")
    reviewer.choose("#pick-queue", str(queues["exact"]))
    reviewer.click("#show-queue")
    while True:
        since = reviewer.tally.interactions
        reviewer.click("#next-case")
        if not _on_case(page):
            break
        reviewer.click(".bulk-link")
        page.wait_for_selector("#bulk-items")
        reviewer.choose("#bulk-select select[name=classification]", CLASSIFICATION)
        reviewer.click("#bulk-preview")
        reviewer.click("#bulk-apply")
        done = page.wait_for_selector("#bulk-done")
        reviewer.tally.decisions += int(done.inner_text().split()[0])
        reviewer.open(f"/review?queue={queues['exact']}")
        reviewer.charge("exact", since)
    _keyboard(reviewer, plan, queues)


def _keyboard(reviewer: Reviewer, plan: list[Upload], queues: dict[str, int]) -> None:
    """Pick the perceptual queue, Review next, then per item r (reveal) and c, or x, the reason and Enter.

    `c` confirms with the classification shown (the bank entry's) and Enter in the reason field rejects;
    both decide and go on: the last pending item's decision concludes the case with the Conclude form's
    choices and opens the next case of the same queue, so no `s` is pressed.
    """
    page, intended, mix = reviewer.page, _intended(plan), _mix(plan)
    reviewer.choose("#pick-queue", str(queues["perceptual"]))
    reviewer.click("#show-queue")
    reviewer.click("#next-case")
    while _on_case(page):
        since, pending, was = reviewer.tally.interactions, _pending_items(page), _path(page.url)
        if f"queue={queues['perceptual']}" not in page.url:
            raise RuntimeError(f"{page.url}: Submit & Next left the queue being worked")
        for n, (item, content) in enumerate(pending):
            card = f"#item-{item}"
            page.wait_for_function(f"document.activeElement && document.activeElement.id === 'item-{item}'")
            reviewer.press("r")
            page.wait_for_selector(f"{card} img.revealed")
            page.wait_for_function(f"document.activeElement && document.activeElement.id === 'item-{item}'")
            if intended[content] == "confirmed":
                if page.get_attribute(f"{card} form.confirm select", "data-known") != CLASSIFICATION:
                    raise RuntimeError(f"item {item}: the classification list does not show {CLASSIFICATION}")
                reviewer.press("c")  # confirms with the classification shown
            else:
                reviewer.press("x")
                reviewer.type(REASON)
                reviewer.press("Enter")
            if n + 1 < len(pending):
                page.wait_for_selector(f"{card} .decision[data-decision='{intended[content]}']")
            else:  # the last one: the case is concluded and the next one (or the emptied queue) opens
                page.wait_for_url(lambda u, was=was: _path(u) != was)
            reviewer.tally.decisions += 1
        reviewer.charge(mix[pending[0][1]], since)


def _path(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path


# -- checking and reporting --------------------------------------------------------------------------

def wrong_outcomes(sessions: Any, plan: list[Upload], *, auto_actioned: bool = False) -> list[str]:
    """Every case concluded, every item decided as its scenario intended; what is not, in words.

    With `auto_actioned` (the workbench), every exact match's case must also show the policy acted on it.
    """
    intended, mix, problems = _intended(plan), _mix(plan), []
    with sessions() as session:
        cases = {c.id: c for c in session.scalars(select(Case))}
        items = list(session.scalars(select(CaseItem)))
    if len(items) != len(plan):
        problems.append(f"{len(items)} items for {len(plan)} uploads")
    for item in items:
        if item.decision != intended.get(item.content_id):
            problems.append(f"{item.content_id}: {item.decision}, meant {intended.get(item.content_id)}")
    problems += [f"case {c.id} ({c.account_id}) is {c.status}" for c in cases.values() if c.status not in CONCLUDED]
    if auto_actioned:
        problems += [f"{i.content_id}: no auto-action" for i in items
                     if mix.get(i.content_id) == "exact" and not cases[i.case_id].auto_policy]
    return problems


def run_flow(browser: Any, folder: Path, plan: list[Upload], *, flow: str) -> tuple[Tally, list[str]]:
    """Seed a fresh instance, sign in, run one flow, time it; returns the tally and what came out wrong."""
    with world(folder, plan, workbench=flow == "workbench") as live:
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(30000)
        sign_in(page, live.url, live.totp_secret)
        reviewer = Reviewer(page, live.url)
        began = time.perf_counter()
        if flow == "workbench":
            workbench(reviewer, plan, live.queues)
        else:
            today(reviewer, plan)
        reviewer.tally.seconds = time.perf_counter() - began
        context.close()
        return reviewer.tally, wrong_outcomes(live.sessions, plan, auto_actioned=flow == "workbench")


def run(cases: int, browser: Any) -> dict[str, Any]:
    """Both flows over the same scenario; raises if either left a case undecided or decided wrongly."""
    plan = scenario(cases)
    flows: dict[str, Tally] = {}
    for flow in ("today", "workbench"):
        with tempfile.TemporaryDirectory() as tmp:
            tally, problems = run_flow(browser, Path(tmp), plan, flow=flow)
        if problems:
            raise RuntimeError(f"{flow}: {len(problems)} wrong outcomes, e.g. {problems[:5]}")
        flows[flow] = tally
    return summarise(plan, flows)


def summarise(plan: list[Upload], flows: dict[str, Tally]) -> dict[str, Any]:
    mix = {kind: sum(u.mix == kind for u in plan) for kind in ("exact", "near", "false_positive")}
    out: dict[str, Any] = {"cases": len(plan), "mix": mix, "flows": {}}
    for name, t in flows.items():
        out["flows"][name] = {**asdict(t), "seconds": round(t.seconds, 1), "interactions": t.interactions,
                              "interactions_per_decision": round(t.interactions / t.decisions, 2),
                              "decisions_per_minute": round(t.decisions / (t.seconds / 60), 1),
                              "overhead": t.interactions - sum(t.by_mix.values()),
                              **{f"per_{kind}_decision": round(t.by_mix.get(kind, 0) / max(count, 1), 2)
                                 for kind, count in mix.items()}}
    a, b = out["flows"]["today"], out["flows"]["workbench"]
    out["interaction_ratio"] = round(a["interactions_per_decision"] / b["interactions_per_decision"], 2)
    out["speed_ratio"] = round(b["decisions_per_minute"] / a["decisions_per_minute"], 2)
    out["machine"] = f"{platform.platform()}, {os.cpu_count()} CPUs, headless Debian chromium, SQLite"
    return out


def print_table(result: dict[str, Any]) -> None:
    a, b = result["flows"]["today"], result["flows"]["workbench"]
    print(f"{result['cases']} cases: {result['mix']}")
    print(f"  {'':28}{'today':>12}{'workbench':>12}{'ratio':>8}")
    rows = [("decisions", "decisions", ""), ("clicks", "clicks", ""), ("key presses", "keys", ""),
            ("typed fields (chars)", "fields", ""), ("interactions", "interactions", ""),
            ("interactions per decision", "interactions_per_decision", "interaction_ratio"),
            ("  of an exact match", "per_exact_decision", ""), ("  of a near match", "per_near_decision", ""),
            ("  of a false positive", "per_false_positive_decision", ""),
            ("  (queue overhead, total)", "overhead", ""),
            ("decisions per minute", "decisions_per_minute", "speed_ratio"), ("seconds", "seconds", "")]
    for label, key, ratio in rows:
        left, right = a[key], b[key]
        if key == "fields":
            left, right = f"{a['fields']} ({a['typed_chars']})", f"{b['fields']} ({b['typed_chars']})"
        print(f"  {label:28}{left!s:>12}{right!s:>12}{(str(result[ratio]) + 'x') if ratio else '':>8}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            result = run(args.cases, browser)
        finally:
            browser.close()
    print_table(result)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
