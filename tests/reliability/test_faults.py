"""300 linked pairs changed on both sides while both emulators inject failures; then the queues drain,
faults go off, one reconcile run, and every pair is checked against the state the people left."""

from __future__ import annotations

import itertools
import json
import logging
import random
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sandbox.core import Faults
from sandbox.stack import SandboxStack, sandbox_stack
from shared.reconcile.run import reconciler
from shared.runtime import runtime
from shared.transport import RetryPolicy
from tests.reliability.scenario import (
    ADO_PEOPLE,
    ADO_UNIQUE,
    BRIDGE_ADO,
    SENTRY_PEOPLE,
    HookTap,
    delivered,
    use_fast_clients,
    write_rules,
)

pytestmark = pytest.mark.slow

SEED = 20240611
ISSUES = 300
ROUNDS = 2
BATCH = 50  # settle after this many people's actions (the local host drains within its timeout)
# 30% of API requests fail (429 with Retry-After, 503, timeout); webhooks dropped, duplicated, reordered.
# Sentry's 429 also says when its window reopens (X-Sentry-Rate-Limit-Reset, the next whole second) and
# the client rightly waits for it, so Sentry gets fewer 429s and more 503s to keep the run short.
WEBHOOK_FAULTS = {"webhook_drop_rate": 0.1, "webhook_duplicate_rate": 0.1, "webhook_reorder": True}
FAULTS = {"ado": Faults(rate_limit_rate=0.12, retry_after_s=0.02, error_rate=0.16, timeout_rate=0.02,
                        timeout_s=0.25, seed=SEED, **WEBHOOK_FAULTS),
          "sentry": Faults(rate_limit_rate=0.01, retry_after_s=0.02, error_rate=0.27, timeout_rate=0.02,
                           timeout_s=0.25, seed=SEED + 1, **WEBHOOK_FAULTS)}
POLICY = RetryPolicy(max_attempts=6, base_delay_s=0.01, max_delay_s=0.05, total_budget_s=5.0,
                     connect_timeout_s=2.0, read_timeout_s=0.2)
CALM = RetryPolicy(max_attempts=6, base_delay_s=0.01, max_delay_s=0.05, total_budget_s=30.0,
                  connect_timeout_s=2.0, read_timeout_s=10.0)
EMAILS = list(SENTRY_PEOPLE)
ASSIGNABLE = ["alice@example.com", "bob@example.com", None]  # backend-team members (or nobody)
TOKEN = re.compile(r"\[note (\w+-\d+)\]")


@dataclass
class Pair:
    issue_id: str
    owner: dict[str, str]  # field -> the only side people change it on: no two-sided conflicts
    status: str = "unresolved"  # what the owner left
    assignee: str | None = None  # a Sentry email
    changes: Counter = field(default_factory=Counter)  # (field, side) -> people's changes


@dataclass
class Note:
    token: str
    side: str  # where a person wrote it
    pair: Pair
    linked: bool  # the pair was linked when it was written
    comment_id: str = ""
    author: str = ""  # the Sentry email or ADO identity that wrote it (only the author edits or deletes)
    text: str = ""  # its latest text
    edits: int = 0
    deleted: bool = False
    work_item_id: int = 0


def ado_meaning(state: str | None) -> str:
    return "resolved" if state == "Closed" else "unresolved"


def link_of(issue_id: str):
    link = runtime().store.get_by_issue("acme", issue_id)
    return link if link is not None and link.is_linked else None


def act(stack: SandboxStack, rng: random.Random, pair: Pair, notes: list[Note]) -> None:
    """One person's action on one pair, chosen by the seeded generator."""
    what = rng.choice(["status", "assignee", "comment"])
    link = link_of(pair.issue_id)
    if what == "comment":
        mine = [n for n in notes if n.pair is pair and not n.deleted and (n.side == "sentry" or link)]
        if mine and rng.random() < 0.5:
            change_note(stack, rng, rng.choice(mine))
            return
        side = rng.choice(["sentry", "ado"]) if link else "sentry"
        token = f"{side[0]}-{len(notes)}"
        if side == "sentry":
            author, text = rng.choice(EMAILS), f"[note {token}] seen again in prod"
            cid = stack.sentry.comment(author, pair.issue_id, text)["id"]
        else:
            author, text = ADO_PEOPLE[rng.choice(EMAILS)], f"[note {token}] looking into it"
            cid = stack.ado.act_comment(link.work_item_id, text, as_=author).id
        notes.append(Note(token, side, pair, link is not None, str(cid), author, text,
                          work_item_id=link.work_item_id if link else 0))
        return
    side = pair.owner[what]
    if side == "ado" and link is None:
        return  # no work item to change (its creation was lost; reconciliation makes it later)
    person = rng.choice(EMAILS)
    if what == "status":
        if side == "sentry":
            new = "resolved" if stack.sentry.world.issue(pair.issue_id).status == "unresolved" else "unresolved"
            stack.sentry.act(person, pair.issue_id, {"status": new})
        else:
            current = stack.ado.work_item(link.work_item_id).current.fields.get("System.State")
            new = "unresolved" if current == "Closed" else "resolved"
            stack.ado.act_update(link.work_item_id, {"System.State": "Closed" if new == "resolved" else "Active"},
                                 as_=ADO_PEOPLE[person])
        pair.status = new
    else:
        new_assignee = rng.choice([e for e in ASSIGNABLE if e != pair.assignee])
        if side == "sentry":
            stack.sentry.act(person, pair.issue_id, {"assignedTo": new_assignee or ""})
        else:
            stack.ado.act_update(link.work_item_id, {"System.AssignedTo": ADO_PEOPLE.get(new_assignee)},
                                 as_=ADO_PEOPLE[person])
        pair.assignee = new_assignee
    pair.changes[(what, side)] += 1


def change_note(stack: SandboxStack, rng: random.Random, note: Note) -> None:
    """Its author edits or deletes a comment written earlier (ADO sends no hook for either)."""
    if rng.random() < 0.7:
        note.edits += 1
        note.text = f"[note {note.token}] edited {note.edits}"
        if note.side == "sentry":
            stack.sentry.edit_note(note.author, note.pair.issue_id, note.comment_id, note.text)
        else:
            stack.ado.act_edit_comment(note.work_item_id, int(note.comment_id), note.text, as_=note.author)
    else:
        note.deleted = True
        if note.side == "sentry":
            stack.sentry.delete_note(note.author, note.pair.issue_id, note.comment_id)
        else:
            stack.ado.act_delete_comment(note.work_item_id, int(note.comment_id), as_=note.author)


def bridge_ado_writes(stack: SandboxStack, wid: int) -> Counter:
    """Field changes the bridge made to a work item after creating it (effective revisions)."""
    out: Counter = Counter()
    revs = stack.ado.work_item(wid).revisions
    for prev, rev in itertools.pairwise(revs):
        if BRIDGE_ADO not in str(rev.fields.get("System.ChangedBy")):
            continue
        for name, ref in (("status", "System.State"), ("assignee", "System.AssignedTo")):
            out[name] += str(prev.fields.get(ref)) != str(rev.fields.get(ref))
    return out


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """The scenario, run once for the tests below; returns the findings by guarantee.

    Guarantees checked, after the queues drained (failed messages retried 5 times, then poison) and
    one reconcile run with faults off:

    - State: every linked pair shows, on both sides, the status and assignee the last person left
      (each field of a pair is changed by people on one side only, chosen at random, so "the last
      change" is defined without Sentry activity times, which the emulator does not serve). Every
      issue still unresolved has exactly one work item; an issue resolved before its lost creation was
      repaired may stay without one (reconciliation only creates for unresolved issues).
    - Comments, written, edited and deleted on both sides, their webhooks dropped, duplicated and
      reordered like the others (ADO sends none for edits and deletions): on a linked pair every
      comment appears exactly once on the other side in its latest text, and a deleted one not at
      all, whatever happened to its webhooks. The one allowance: a Sentry edit whose webhook did not
      reach the app may leave the copy at an earlier text (it moves no count Sentry shows).
    - No ping-pong: the bridge never writes a field on the side people own it on, and writes it on the
      other side at most once per change people made.
    """
    tmp_path = tmp_path_factory.mktemp("faults")
    skips = SkipLog()
    logging.getLogger("shared.apply").addHandler(skips)
    logging.getLogger("shared.apply").setLevel(logging.INFO)
    rng = random.Random(SEED)
    with sandbox_stack(workdir=str(tmp_path), sync_config=write_rules(tmp_path)) as stack:
        use_fast_clients(POLICY)
        taps = {"sentry": HookTap(stack.sentry), "ado": HookTap(stack.ado)}
        for side in ("sentry", "ado"):
            getattr(stack, side).set_faults(FAULTS[side])
        pairs: list[Pair] = []
        for i in range(ISSUES):
            issue = stack.sentry.new_error("backend", "ValueError", f"fault {i}", fingerprint=f"fault-{i}")["issue"]
            pairs.append(Pair(issue["id"], {f: rng.choice(["sentry", "ado"]) for f in ("status", "assignee")}))
            if i % BATCH == BATCH - 1:
                stack.settle()
        stack.settle()
        bad_keys, bad_messages = plant_bad_records(stack)
        notes: list[Note] = []
        for _ in range(ROUNDS):
            order = pairs[:]
            rng.shuffle(order)
            for n, pair in enumerate(order, start=1):
                act(stack, rng, pair, notes)
                if n % BATCH == 0:
                    stack.settle()
            stack.settle()
        for emulator in (stack.sentry, stack.ado):
            emulator.set_faults(Faults())
        for client in (runtime().ado, runtime().sentry):  # faults are off: a slow answer is load, not a fault
            client.transport.policy = CALM
        poison = [json.loads(m) for msgs in stack.host.poison.values() for m in msgs]
        report = reconciler(runtime()).run()
        reconciled = {pair.issue_id for pair in pairs if link_of(pair.issue_id) is not None}
        stack.settle()
        sent = {side: tap.sent for side, tap in taps.items()}
        got = {side: delivered(getattr(stack, side)) for side in ("sentry", "ado")}
        journal = {side: len(getattr(stack, side).journal.entries()) for side in ("sentry", "ado")}
        clients = runtime().ado.transport, runtime().sentry.transport
        print(f"\nseed {SEED}: {ISSUES} issues, {ROUNDS} rounds, {len(notes)} comments; faults {FAULTS}")
        print(f"injected: webhooks sent sentry {len(sent['sentry'])} / ado {len(sent['ado'])}, delivered "
              f"{len(got['sentry'])} / {len(got['ado'])} (drops and duplicates); API requests sentry "
              f"{journal['sentry']} ado {journal['ado']}; client retries ado {clients[0].retry_count} "
              f"sentry {clients[1].retry_count}; poison messages {len(poison)}: "
              f"{Counter(m.get('resource') or m.get('event_type') for m in poison)}")
        print(f"reconcile: {report.links} links, {report.drifted} drifted, {report.writes} writes, "
              f"{report.created} created, errors {report.errors[:3]}")
        logging.getLogger("shared.apply").removeHandler(skips)
        problems = check(stack, pairs, notes, poison, got, skips.messages, reconciled)
        problems["reconcile errors"] = [str(b) for b in report.bad if b.key not in bad_keys]
        problems["bad records"] = bad_records_unreported(stack, report, bad_keys, bad_messages)
        sent_bodies = Counter(h.body for h in sent["sentry"])
        got_bodies = Counter(hook.body for hook, _ in stack.sentry.webhooks.delivered)
        assert sum(got_bodies[b] for b in sent_bodies) == sum(got_bodies.values())  # the same bodies, compared
        lossy = any(got_bodies[b] != n for b, n in sent_bodies.items())  # a drop or a duplicate happened
        problems["faults seen"] = [] if (lossy and clients[0].retry_count and clients[1].retry_count) \
            else ["no fault took effect"]
        for kind, lines in problems.items():
            print(f"  {kind}: {len(lines)} finding(s)")
            for line in lines[:5]:
                print("    FINDING", line)
        return problems


def plant_bad_records(stack: SandboxStack) -> tuple[set[str], list[tuple[str, str, str]]]:
    """What older versions and hands left behind, met by the queues and the reconcile run: links for
    Sentry issue "0" (the issue report's) and for a malformed work item id, a damaged record, and
    queued messages with malformed identifiers. Answers the bad links' keys and (queue, message, reason)."""
    from shared.store import LINKED, Link
    from shared.store.base import issue_key, link_key

    store = runtime().store
    item = stack.ado.act_create("Shop", "Bug", {"System.Title": "made for issue 0"},
                                ADO_PEOPLE["bob@example.com"])
    zero = Link(sentry_org="acme", sentry_issue_id="0", ado_org_url=stack.ado.base_url, ado_project="Shop",
                work_item_id=item.id, work_item_type="Bug", state=LINKED)
    minus = Link(sentry_org="acme", sentry_issue_id="990000001", ado_org_url=stack.ado.base_url,
                 ado_project="Shop", work_item_id=-1, state=LINKED)
    for link in (zero, minus):
        assert store.claim(link) is not None
    damaged = issue_key("acme", "990000002")
    with sqlite3.connect(stack.env["SQLITE_PATH"], isolation_level=None) as conn:
        conn.execute("INSERT INTO links VALUES (?, NULL, 1, ?)", (damaged, '{"sentry_org": "acme", "sent'))
    planted = [("sentry-events", json.dumps({"source": "sentry", "resource": "event_alert", "request_id": None,
                                             "body": {"action": "triggered", "data": {"event": {"issue_id": "0"}}}}),
                "data.event.issue_id must be"),
               ("ado-events", json.dumps({"source": "ado", "event_type": "workitem.updated",
                                          "body": {"eventType": "workitem.updated",
                                                   "resource": {"workItemId": 0, "revisedBy": {"id": "x"}}}}),
                "resource.workItemId must be")]
    for queue, text, _ in planted:
        stack.host.enqueue(queue, text)
    return {link_key(zero), link_key(minus), damaged}, planted


def bad_records_unreported(stack: SandboxStack, report: Any, keys: set[str],
                           planted: list[tuple[str, str, str]]) -> list[str]:
    """Each planted link is reported by the reconcile run with the command that removes it; each
    planted message went to its poison queue as it came, at its first attempt, its reason recorded."""
    from shared.status.record import failure_of_message

    out = []
    reported = {b.key: b for b in report.bad}
    for key in sorted(keys):
        bad = reported.get(key)
        if bad is None or not (bad.fix or "").startswith(f"sentry-ado links remove {key}"):
            out.append(f"link {key}: reported as {bad}")
    for queue, text, reason in planted:
        copies = stack.host.poison.get(f"{queue}-poison", []).count(text)
        failure = failure_of_message(runtime().store, queue, text) or {}
        if copies != 1 or failure.get("attempt") != 1 or reason not in failure.get("reason", ""):
            out.append(f"message failing with {reason!r}: {copies} poison copies, recorded {failure}")
    return out


def check(stack: SandboxStack, pairs: list[Pair], notes: list[Note], poison: list[dict[str, Any]],
          got: dict[str, list[tuple[dict[str, Any], int | None]]], skips: list[str],
          reconciled: set[str]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {k: [] for k in ("work items", "external issues", "state", "ping-pong",
                                                      "comments")}
    items = [w for w in stack.ado.items.values() if not w.deleted]
    by_issue: dict[str, list[int]] = {}
    for w in items:
        for issue_id in re.findall(r"/issues/(\d+)/", json.dumps([w.revisions[0].relations], default=str)):
            by_issue.setdefault(issue_id, []).append(w.id)
    externals = Counter(str(x.issue_id) for x in stack.sentry.world.org.external_issues.values())
    unlinked_resolved = 0
    human = Counter()
    bridge = Counter()
    for pair in pairs:
        issue = stack.sentry.world.issue(pair.issue_id)
        link = link_of(pair.issue_id)
        wids = sorted(set(by_issue.get(pair.issue_id, [])))
        if link is None:
            if issue.status == "resolved" and not wids:
                unlinked_resolved += 1
                continue
            problems["work items"].append(f"issue {pair.issue_id} ({issue.status}) has no link; work items {wids}")
            continue
        if wids != [link.work_item_id]:
            problems["work items"].append(f"issue {pair.issue_id}: work items {wids}, link says {link.work_item_id}")
        if externals[pair.issue_id] != 1:
            problems["external issues"].append(f"issue {pair.issue_id}: {externals[pair.issue_id]} Sentry "
                                               "external issues (want 1)")
        fields = stack.ado.work_item(link.work_item_id).current.fields
        sentry_assignee = f"user:{issue.assigned_to.id}" if issue.assigned_to else None
        want_assignee = f"user:{SENTRY_PEOPLE[pair.assignee]}" if pair.assignee else None
        ado_assignee = getattr(fields.get("System.AssignedTo"), "unique_name", None)
        got_state = (issue.status, ado_meaning(fields.get("System.State")), sentry_assignee, ado_assignee)
        want = (pair.status, pair.status, want_assignee, ADO_UNIQUE.get(pair.assignee or ""))
        if got_state != want:
            problems["state"].append(f"issue {pair.issue_id} / work item {link.work_item_id}: (sentry status, "
                                     f"ado meaning, "
                            f"sentry assignee, ado assignee) = {got_state}, want {want}; owners {pair.owner}, "
                            f"changes {dict(pair.changes)}")
        writes = bridge_ado_writes(stack, link.work_item_id)
        for f in ("status", "assignee"):
            made = pair.changes[(f, pair.owner[f])]
            human[(f, pair.owner[f])] += made
            if pair.owner[f] == "sentry":
                bridge[(f, "ado")] += writes[f]
                if writes[f] > made:
                    problems["ping-pong"].append(f"work item {link.work_item_id}: bridge changed {f} {writes[f]} "
                                    f"times for {made} change(s) in Sentry")
            elif writes[f]:
                problems["ping-pong"].append(f"work item {link.work_item_id}: bridge changed {f} (owned by ADO "
                                f"people) {writes[f]} times")
    print(f"unlinked resolved issues (creation lost, resolved before reconciliation): {unlinked_resolved}")
    print(f"people's field changes {dict(human)}; bridge field writes to ADO {dict(bridge)}")

    # comments
    reached: set[str] = set()  # (Sentry) edits whose webhook the app answered 202
    for body, status in got["sentry"]:
        data = body.get("data") or {}
        if status == 202 and body.get("action") == "updated" and "comment_id" in data:
            reached.add(f"{data['comment_id']}:{data.get('comment')}")
    poisoned = json.dumps(poison)
    ado_texts = [c.text for w in items for c in w.comments if not c.is_deleted]
    sentry_texts = [c.text for c in stack.sentry.world.org.comments.values()]
    copies: dict[tuple[str, str], list[str]] = {}
    for side, texts in (("ado", ado_texts), ("sentry", sentry_texts)):
        for text in texts:  # a person's original is on its own side; only the other side is counted
            for token in TOKEN.findall(text):
                copies.setdefault((side, token), []).append(text)
    outcome = Counter()
    for note in notes:
        other = "ado" if note.side == "sentry" else "sentry"
        found = copies.get((other, note.token), [])
        own = [t for t in (sentry_texts if note.side == "sentry" else ado_texts) if f"[note {note.token}]" in t]
        if own != ([] if note.deleted else [note.text]):
            problems["comments"].append(f"comment {note.token}: its own side shows {own}")
        # a pair linked only after the reconcile run (a late creation retried by the queue) gets the
        # comments written before its work item existed from the next run
        linked = note.pair.issue_id in reconciled and link_of(note.pair.issue_id) is not None
        # ADO sends no hook for edits; Sentry's edit webhook is the only news of a Sentry edit (it moves
        # no count), so a Sentry edit whose webhook did not reach the app (or whose message failed) may
        # leave the copy at an earlier text
        edit_lost = (note.side == "sentry" and note.edits > 0 and not note.deleted
                     and (f"{note.comment_id}:{note.text}" not in reached or note.text in poisoned))
        want = 0 if note.deleted or not linked else 1
        kind = ("deleted" if note.deleted else "unlinked" if not linked else "edit lost" if edit_lost
                else "edited" if note.edits else "written")
        outcome[(kind, len(found))] += 1
        why = [m for m in skips if re.search(rf"comment {note.comment_id}\b", m)][:2]
        if len(found) != want:
            problems["comments"].append(f"comment {note.token} ({kind}) appears {len(found)} times on {other}, "
                                        f"want {want}: {why}")
        elif want and not edit_lost and not found[0].rstrip().endswith(note.text.split("] ", 1)[1].rstrip()):
            problems["comments"].append(f"comment {note.token} on {other} is {found[0]!r}, not its latest text "
                                        f"{note.text!r}")
    print("comments (fate, copies on the other side): "
          + ", ".join(f"{k}/{n}: {c}" for (k, n), c in sorted(outcome.items())))
    return problems


class SkipLog(logging.Handler):
    """Keeps the applier's skip reasons, to say why a comment was not carried."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_faults_took_effect_and_reconciliation_ran_clean(outcome: dict[str, list[str]]) -> None:
    assert outcome["faults seen"] == [] and outcome["reconcile errors"] == []


def test_bad_records_are_reported_and_stop_nothing(outcome: dict[str, list[str]]) -> None:
    """The planted bad records are each reported; every pair above was still checked and repaired."""
    assert outcome["bad records"] == []


def test_one_work_item_per_unresolved_issue(outcome: dict[str, list[str]]) -> None:
    assert outcome["work items"] == []


def test_no_comment_lost_or_duplicated(outcome: dict[str, list[str]]) -> None:
    assert outcome["comments"] == []


def test_no_ping_pong(outcome: dict[str, list[str]]) -> None:
    assert outcome["ping-pong"] == []


def test_every_pair_agrees_with_what_people_left(outcome: dict[str, list[str]]) -> None:
    assert outcome["state"] == []


def test_every_link_shows_on_its_sentry_issue(outcome: dict[str, list[str]]) -> None:
    assert outcome["external issues"] == []


def test_a_failed_external_issue_link_is_repaired(tmp_path: Path) -> None:
    """Deterministic: Sentry answers 503 to everything while the work item is created (ADO is fine),
    the host retries the message, faults go off, reconciliation runs: the Sentry issue must show its
    work item (one external issue)."""
    with sandbox_stack(workdir=str(tmp_path), sync_config=write_rules(tmp_path)) as stack:
        use_fast_clients(POLICY)
        stack.sentry.set_faults(Faults(error_rate=1.0))
        issue = stack.sentry.new_error("backend", "KeyError", "no external link")["issue"]
        stack.settle()
        stack.sentry.set_faults(Faults())
        link = link_of(issue["id"])
        assert link is not None and stack.host.poison == {}
        report = reconciler(runtime()).run()
        externals = [x for x in stack.sentry.world.org.external_issues.values() if str(x.issue_id) == issue["id"]]
        print(f"\nwork item {link.work_item_id} created; Sentry external issues after reconcile: {len(externals)}; "
              f"reconcile drifted {report.drifted}, writes {report.writes}")
        assert [x.identifier for x in externals] == [str(link.work_item_id)]
