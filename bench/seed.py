"""Seed N linked Sentry issue <-> work item pairs fast, straight into the emulators' Python objects
and the link store, then drift some of them behind the webhooks' back.

Why not through the API: 10,000 pairs through HTTP (or `new_error`, whose fingerprint look-up scans
every issue) takes minutes; the reconcile benchmark and tests need the *state*, not the journey.
The pairs look exactly like the ones the app makes (same link fields, synced values, external issue),
so reconciliation cannot tell them apart. Drift goes through the emulators' "act as a person"
methods, which fire no webhook here because nothing is subscribed: the lost delivery.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sandbox.ado.emulator import AdoEmulator
from sandbox.ado.seed import BRIDGE
from sandbox.ado.workitems import item_links
from sandbox.sentry.emulator import SentryEmulator
from sandbox.sentry.model import Assignee, Comment, ExternalIssue, Issue
from sandbox.sentry.seed import INSTALLATION_UUID
from shared.mapping import comments
from shared.store import LINKED, Link, LinkStore, SyncedValues

PROJECT, WIT, SENTRY_PROJECT_ID = "Shop", "Bug", 21  # the default sync config's "backend" route
ALICE, ALICE_ADO = Assignee("user", 1), "ava@contoso.com"  # mapped in sandbox/default-sync.toml
BOB_USER, JAMAL = "user:2", "Jamal Hartnett <jamal@contoso.com>"
FIRST_SEEN_AGO = timedelta(days=3)  # outside the look-back window: no pair looks like a lost creation
DRIFTS = ("sentry_status", "sentry_assignee", "ado_status", "ado_assignee", "sentry_comment", "ado_comment")
COMMENT_DRIFTS = ("sentry_comment", "ado_comment")  # a comment whose webhook was lost: one list read each


@dataclass(frozen=True)
class Pair:
    issue_id: str
    work_item_id: int


def group_sizes(n: int, shared_rate: float, seed: int = 7) -> list[int]:
    """How many of the N issues each work item gets: `shared_rate` of the work items two or three
    (the same bug on two platforms), the others one; the same seed gives the same sizes."""
    rng = random.Random(seed)
    sizes: list[int] = []
    while sum(sizes) < n:
        size = rng.choice((2, 3)) if rng.random() < shared_rate else 1
        sizes.append(min(size, n - sum(sizes)))
    return sizes


def seed_pairs(ado: AdoEmulator, sentry: SentryEmulator, n: int, ado_org_url: str,
               shared_rate: float = 0.0, seed: int = 7) -> list[Link]:
    """N fresh links, in sync: every other work item assigned (alice / ava), and with `shared_rate`
    of the work items linked to two or three issues each. Returns the links to store, in key order."""
    org = sentry.world.org
    project = org.projects[SENTRY_PROJECT_ID]
    base = sentry.world.base_url
    seen = datetime.now(UTC) - FIRST_SEEN_AGO
    links = []
    k = 0
    with sentry.lock, ado._state_lock:
        for g, size in enumerate(group_sizes(n, shared_rate, seed)):
            assigned = g % 2 == 0
            short = f"{project.slug.upper()}-B{k}"
            fields = {"System.Title": f"[{short}] BenchError: pair {k}", "System.AreaPath": "Shop\\Api",
                      "System.Tags": "sentry; backend"}
            if assigned:
                fields["System.AssignedTo"] = ALICE_ADO
            item = ado.create_work_item(PROJECT, WIT, [{"op": "add", "path": f"/fields/{ref}", "value": value}
                                                       for ref, value in fields.items()], BRIDGE, notify=False)
            html = item_links(item, ado_org_url)["html"]["href"]
            current = item.current.fields
            for _ in range(size):
                short = f"{project.slug.upper()}-B{k}"
                title = f"BenchError: pair {k}"
                issue = Issue(id=org.new_id() * 1000 + 7, short_id=short, project_id=project.id, title=title,
                              culprit="app/bench.py in run", level="error", fingerprint=f"bench-{k}",
                              first_seen=seen, last_seen=seen, metadata={"type": "BenchError", "value": str(k)},
                              substatus="ongoing", assigned_to=ALICE if assigned else None, count=1)
                org.issues[issue.id] = issue
                external = ExternalIssue(org.new_id(), issue.id, INSTALLATION_UUID, html, PROJECT, str(item.id))
                org.external_issues[external.id] = external
                links.append(Link(
                    sentry_org=org.slug, sentry_issue_id=str(issue.id), sentry_project=project.slug,
                    sentry_short_id=short, sentry_url=f"{base}/organizations/{org.slug}/issues/{issue.id}/",
                    ado_org_url=ado_org_url, ado_project=PROJECT, work_item_id=item.id, work_item_type=WIT,
                    work_item_url=html, external_issue_id=str(external.id), state=LINKED,
                    claimed_at=seen.isoformat(),
                    synced=SyncedValues(sentry_status="unresolved", sentry_assignee="user:1" if assigned else None,
                                        sentry_title=title, ado_state=current["System.State"],
                                        ado_assignee=ALICE_ADO if assigned else None,
                                        ado_title=fields["System.Title"], sentry_changed_at=seen.isoformat(),
                                        ado_changed_at=current["System.ChangedDate"], ado_rev=item.rev)))
                k += 1
    return links


def comment_some(ado: AdoEmulator, sentry: SentryEmulator, links: list[Link], rate: float,
                 seed: int = 11) -> list[Link]:
    """Give `rate` of the pairs one Sentry comment already carried to its work item (the note, its
    ADO copy, and the link mapping them with both counts synced), as the webhook path leaves them:
    quiet links whose Sentry list reconciliation still reads on their turn."""
    rng = random.Random(seed)
    chosen = set(rng.sample(range(len(links)), round(len(links) * rate)))
    text = "seen in production too"
    org, carol = sentry.world.org, sentry._person("carol@example.com").user_id
    out = []
    for index, link in enumerate(links):
        if index not in chosen:
            out.append(link)
            continue
        with sentry.lock:  # straight into the model: add_comment's duplicate check scans every note
            issue = sentry.world.issue(link.sentry_issue_id)
            note = Comment(org.new_id(), issue.id, carol, text, datetime.now(UTC))
            org.comments[note.id] = note
            issue.num_comments += 1
        copy = ado.add_comment(link.work_item_id or 0, comments.to_ado("Carol", text, True).text, BRIDGE, "markdown")
        source, carried = f"sentry:{note.id}", f"ado:{copy.id}"
        out.append(replace(link, comment_ids=(source, carried),
                           comment_copies={source: f"{carried}#{comments.digest(text)}"},
                           synced=replace(link.synced, sentry_comments=1)))
    return _following(ado, out)


def _following(ado: AdoEmulator, links: list[Link]) -> list[Link]:
    """Every link as it follows its work item after the bridge's comments, as each link's own
    write and its siblings' (shared/siblings.py) leave it: the work item's comment count, rev and
    change date."""
    out = []
    for link in links:
        item = ado.work_item(link.work_item_id or 0)
        if not item.comments:
            out.append(link)
            continue
        out.append(replace(link, synced=replace(link.synced, ado_comments=len(item.comments), ado_rev=item.rev,
                                                ado_changed_at=item.current.fields["System.ChangedDate"])))
    return out


def store_links(store: LinkStore, links: Iterable[Link]) -> None:
    """Claim then save each link, as the app does (claim alone stores it; the link is complete)."""
    for link in links:
        if store.claim(link) is None:
            raise RuntimeError(f"link for issue {link.sentry_issue_id} already stored")


def drift(ado: AdoEmulator, sentry: SentryEmulator, link: Link, kind: str) -> None:
    """One field changed on one side, as a person would, with no webhook delivered."""
    if kind == "sentry_status":
        sentry.act("carol@example.com", link.sentry_issue_id, {"status": "resolved"})
    elif kind == "sentry_assignee":
        sentry.act("carol@example.com", link.sentry_issue_id, {"assignedTo": BOB_USER})
    elif kind == "ado_status":
        ado.act_update(link.work_item_id or 0, {"System.State": "Closed"}, JAMAL)
    elif kind == "ado_assignee":
        ado.act_update(link.work_item_id or 0, {"System.AssignedTo": JAMAL}, JAMAL)
    elif kind == "sentry_comment":
        sentry.comment("carol@example.com", link.sentry_issue_id, "seen again after the deploy")
    elif kind == "ado_comment":
        ado.act_comment(link.work_item_id or 0, "looking into it", JAMAL)
    else:
        raise ValueError(f"unknown drift {kind!r}")


def drift_some(ado: AdoEmulator, sentry: SentryEmulator, links: list[Link], rate: float,
               seed: int = 7) -> list[tuple[Link, str]]:
    """Drift `rate` of the work items' pairs, one field on one side each (of one of a work item's
    issues), kinds in rotation; the same seed picks the same links, so two seedings are identical."""
    rng = random.Random(seed)
    first: dict[int | None, int] = {}
    for index, link in enumerate(links):
        first.setdefault(link.work_item_id, index)
    groups = sorted(first.values())
    chosen = sorted(rng.sample(groups, round(len(links) * rate)))
    done = []
    for turn, index in enumerate(chosen):
        kind = DRIFTS[turn % len(DRIFTS)]
        drift(ado, sentry, links[index], kind)
        done.append((links[index], kind))
    return done


ADO_DRIFTS = ("ado_status", "ado_assignee", "ado_comment")  # a work item change: one write per linked issue


def floor_writes(links: list[Link], drifted: list[tuple[Link, str]]) -> int:
    """The writes that repair the drift: a Sentry change is one write to the work item; a work item
    change one write to each issue linked to it."""
    per_item: dict[int | None, int] = {}
    for link in links:
        per_item[link.work_item_id] = per_item.get(link.work_item_id, 0) + 1
    return sum(per_item[link.work_item_id] if kind in ADO_DRIFTS else 1 for link, kind in drifted)
