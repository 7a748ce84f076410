"""Reconciliation with several Sentry issues linked to one work item (the same bug on two or three
platforms): every drift repaired in one run at the call floor (the batched reads, one write to each
issue for a work item change, one write to the work item for a Sentry change, one comment list per
lost comment) and nothing bounced to the sibling issues; a second run finds nothing (its calls:
the batch reads and the Sentry comment lists whose turn it is).

No webhooks are delivered here (no function host): every change made through the emulators'
"act as a person" methods is a lost delivery."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

from bench.seed import ADO_DRIFTS, COMMENT_DRIFTS, drift_some, floor_writes, seed_pairs, store_links
from sandbox.stack import DEFAULT_SYNC_CONFIG, sandbox_stack
from shared.reconcile.comments import Counts, rechecked
from shared.reconcile.engine import Reconciler
from shared.runtime import runtime

N = 300


def test_shared_work_items_are_repaired_at_the_floor_and_nothing_bounces(tmp_path: Path) -> None:
    config = tmp_path / "sync.toml"  # no auto-create: this measures repairing drift
    config.write_text(DEFAULT_SYNC_CONFIG.read_text().replace("enabled = true", "enabled = false"))
    with sandbox_stack(workdir=str(tmp_path), with_host=False, sync_config=config) as stack:
        rt = runtime()
        links = seed_pairs(stack.ado, stack.sentry, N, stack.ado.base_url, shared_rate=0.5)
        store_links(rt.store, links)
        rt.metadata.states("Shop", "Bug")
        rt.metadata.bridge()
        rt.metadata.sentry_members()
        per_item = Counter(link.work_item_id for link in links)
        drifted = drift_some(stack.ado, stack.sentry, links, 0.1)
        assert {kind for link, kind in drifted if per_item[link.work_item_id] > 1} == \
            {"sentry_status", "sentry_assignee", "ado_status", "ado_assignee", "sentry_comment", "ado_comment"}

        def calls() -> int:
            return rt.ado.request_count + rt.sentry.request_count

        before = calls()
        report = Reconciler(rt.config, rt.store, rt.ado, rt.sentry, rt.syncer).run()
        lists = sum(kind in COMMENT_DRIFTS for _, kind in drifted)
        assert report.errors == []
        assert report.writes == floor_writes(links, drifted)
        assert calls() - before == math.ceil(N / 200) + math.ceil(N / 100) + report.writes + lists

        org = stack.sentry.world.org

        def notes(issue) -> list[str]:
            return [c.text for c in org.comments.values() if c.issue_id == issue.id]

        issues_of: dict[int, list] = {}
        for link in links:
            issues_of.setdefault(link.work_item_id or 0, []).append(org.issues[int(link.sentry_issue_id)])
        for link, kind in drifted:
            item = stack.ado.work_item(link.work_item_id or 0)
            issues = issues_of[link.work_item_id or 0]
            others = [i for i in issues if str(i.id) != link.sentry_issue_id]
            if kind == "ado_status":
                assert {i.status for i in issues} == {"resolved"}
            elif kind == "ado_assignee":
                assert {str(i.assigned_to) for i in issues} == {str(issues[0].assigned_to)} and issues[0].assigned_to
            elif kind == "ado_comment":
                assert all(sum("looking into it" in n for n in notes(i)) == 1 for i in issues)
            elif kind == "sentry_status":
                assert item.current.fields["System.State"] == "Closed"
                assert {i.status for i in others} <= {"unresolved"}  # not bounced to the siblings
            elif kind == "sentry_assignee":
                assert "jamal" in str(item.current.fields.get("System.AssignedTo"))
                assert all(str(i.assigned_to) != "user:2" for i in others)
            elif kind == "sentry_comment":
                assert sum("seen again after the deploy" in c.text for c in item.comments) == 1
                assert all(not any("seen again" in n for n in notes(i)) for i in others)
            assert kind in ADO_DRIFTS or kind.startswith("sentry_")

        # the second pass: its batch reads and the Sentry comment lists whose turn it is, nothing else
        turns = sum(rechecked(stored, Counts(org.issues[int(stored.sentry_issue_id)].num_comments, 0, None), 2)
                    for stored in (rt.store.get_by_issue(link.sentry_org, link.sentry_issue_id) for link in links))
        before = calls()
        again = Reconciler(rt.config, rt.store, rt.ado, rt.sentry, rt.syncer).run()
        assert (again.drifted, again.writes, again.errors) == (0, 0, [])
        assert calls() - before == math.ceil(N / 200) + math.ceil(N / 100) + turns
