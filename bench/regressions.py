"""The regression scan's API calls: what reopening regressed issues' work items costs without the
``issue.unresolved`` webhook (shared/reconcile/regressions.py), against the emulators in-process.

N linked pairs, a share of them resolved (both sides agree: Closed); since the last scan, G of the
resolved issues regress (a new event) and M linked unresolved issues get new events (noise the
query also returns). One scan run should cost its floor: ceil((G + M) / 100) issue-list calls plus,
per regression, the work item read and the one write its webhook would have cost; a quiet run one
call. Prints one JSON object as its last line:
  links, regressions, noise, scan_calls (sentry_calls + ado_calls of the run), floor_calls,
  calls_ratio (ours / floor, goal 1.0), reopened (work items now Active), quiet_run_calls (a run with
  nothing seen since the last; goal 1), next_run_calls (the run after, which sees the same issues
  again through the overlap and writes nothing),
  runs_per_day (every 2 minutes) and quiet_calls_per_day, reconcile_reads_per_run (what finding the
  same regressions costs the full reconciliation: ceil(N/200) + ceil(N/100) reads, bench/reconcile.py),
  wall_s of the run.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seed import seed_pairs, store_links  # noqa: E402
from sandbox.ado.seed import BRIDGE  # noqa: E402
from sandbox.stack import sandbox_stack  # noqa: E402
from shared.store import Link  # noqa: E402

RUNS_PER_DAY = 24 * 60 // 2  # functions/regressions.py runs every two minutes


def calls(rt: Any) -> tuple[int, int]:
    return rt.sentry.request_count, rt.ado.request_count


def resolve_pair(stack: Any, link: Link) -> Link:
    """Resolved in Sentry and Closed in ADO, as after a synced resolve; the link agrees."""
    issue = stack.sentry.world.issue(link.sentry_issue_id)
    issue.status, issue.substatus = "resolved", None
    item = stack.ado.act_update(link.work_item_id or 0, {"System.State": "Closed"}, BRIDGE)
    fields = item.current.fields
    return link.with_synced(sentry_status="resolved", ado_state="Closed", ado_rev=item.rev,
                            ado_changed_at=fields["System.ChangedDate"])


def new_event(stack: Any, link: Link, k: int) -> None:
    issue = stack.sentry.world.issue(link.sentry_issue_id)
    stack.sentry.world.record_error("backend", "BenchError", f"again {k}", datetime.now(UTC),
                                    fingerprint=issue.fingerprint)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=2000)
    parser.add_argument("--resolved", type=float, default=0.5, help="share of pairs resolved and Closed")
    parser.add_argument("--regressions", type=int, default=20)
    parser.add_argument("--noise", type=int, default=150, help="unresolved linked issues with new events")
    args = parser.parse_args()
    from shared.reconcile.run import regression_scan
    from shared.runtime import runtime

    rng = random.Random(7)
    with sandbox_stack(with_host=False) as stack:
        rt = runtime()
        links = seed_pairs(stack.ado, stack.sentry, args.links, stack.ado.base_url)
        chosen = set(rng.sample(range(len(links)), round(len(links) * args.resolved)))
        links = [resolve_pair(stack, link) if i in chosen else link for i, link in enumerate(links)]
        store_links(rt.store, links)
        rt.metadata.cached("states", "Shop/Bug", lambda: rt.ado.work_item_type_states("Shop", "Bug"))
        regression_scan(rt)  # the first run: fills the project-id cache, sets the marker
        quiet_before = sum(calls(rt))
        regression_scan(rt)  # nothing was seen since: the common case
        quiet = sum(calls(rt)) - quiet_before
        regressed = rng.sample(sorted(chosen), args.regressions)
        noisy = rng.sample(sorted(set(range(len(links))) - chosen), args.noise)
        for k, index in enumerate(regressed + noisy):
            new_event(stack, links[index], k)
        before = calls(rt)
        start = time.perf_counter()
        report = regression_scan(rt)
        wall = time.perf_counter() - start
        after = calls(rt)
        again_before = sum(calls(rt))
        regression_scan(rt)  # the next run sees the same issues again (the overlap), reopens nothing
        again = sum(calls(rt)) - again_before
        reopened = sum(stack.ado.work_item(links[i].work_item_id).current.fields["System.State"] == "Active"
                       for i in regressed)
    sentry_calls, ado_calls = after[0] - before[0], after[1] - before[1]
    used = sentry_calls + ado_calls
    floor = math.ceil((args.regressions + args.noise) / 100) + 2 * args.regressions
    print(json.dumps({
        "links": args.links, "regressions": args.regressions, "noise": args.noise, "seen": report.seen,
        "scan_calls": used, "sentry_calls": sentry_calls, "ado_calls": ado_calls, "floor_calls": floor,
        "calls_ratio": round(used / floor, 2), "reopened": reopened, "errors": len(report.errors),
        "quiet_run_calls": quiet, "next_run_calls": again, "runs_per_day": RUNS_PER_DAY,
        "quiet_calls_per_day": quiet * RUNS_PER_DAY,
        "reconcile_reads_per_run": math.ceil(args.links / 200) + math.ceil(args.links / 100),
        "wall_s": round(wall, 3)}))


if __name__ == "__main__":
    main()
