"""Reconcile: our engine (batched reads, bounded concurrency) against a naive reconciler (one read
per item on each side, then the writes), on the same seeded data, against both emulators running
in another process with added latency per call.

The links are seeded as teams link them: 10% of the work items (`SHARED_RATE`) are linked to two or
three Sentry issues each (the same bug on two platforms), the others to one.

Prints one JSON object as its last line:
  links, work_items, drifted, api_calls (ours), floor_calls (ceil(N/200) ADO batch reads +
  ceil(N/100) Sentry reads + floor_writes: the writes that repair the drift, one per drifted Sentry
  field or lost Sentry comment (to the work item) and one per linked issue for a drifted work item
  field or lost ADO comment + one comment list per lost comment: a link's comment lists are read
  where its comment count or change date moved, a work item's once for all its issues + turn_reads: the Sentry
  comment lists of the links with comments whose turn this pass is, about 1 in RECHECK_PASSES of
  them, since Sentry shows no sign of an edit), comment_drifts, commented (links seeded with a
  carried comment, COMMENTED_RATE of them), turn_reads,
  naive_api_calls, calls_ratio (naive / ours), wall_s,
  naive_wall_s, wall_ratio (naive / ours), peak_mb (tracemalloc peak of our engine's run, measured
  in a separate run so tracing does not slow the timed one), peak_rss_mb (the peak resident set of
  a fresh process that runs the engine once over the same kind of store, beside rss_start_mb, its
  resident set before the run: what the Functions worker would hold), warmup_calls (filling the
  store's cache of states, identity and members once per hour; not part of a run's cost), converged
  (a second run finds nothing to do). When N is larger than the base size (1,000 links, or 10,000
  from 100,000 links up), the base run's figures too: peak_mb_<base>, wall_s_<base>, peak_ratio
  (peak_mb / peak_mb_<base>) and wall_per_link_ratio (wall_s per link / wall_s_<base> per link;
  1.0 is linear).
``--skip-naive`` leaves out the naive reconciler (half an hour at 100,000 links).
Goals at N=10,000: api_calls == floor_calls, calls_ratio >= 50, wall_ratio >= 20, peak_mb < 150 and
within 20% of peak_mb_1000. At N=100,000 (--skip-naive): api_calls == floor_calls, peak_ratio <= 1.2
against 10,000 links, wall_per_link_ratio near 1.

The sync config is the sandbox's with auto-create off: this measures repairing drift; the lost
``issue.created`` scan is a constant two calls per run and is covered by tests/reconcile.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench.seed import COMMENT_DRIFTS, store_links  # noqa: E402
from sandbox.stack import DEFAULT_SYNC_CONFIG, app_settings, applied_env  # noqa: E402
from shared.reconcile.comments import Counts, rechecked  # noqa: E402
from shared.reconcile.engine import Reconciler, Report  # noqa: E402
from shared.store import Link  # noqa: E402

DRIFT_RATE = 0.02
SHARED_RATE = 0.1  # of the work items, linked to two or three Sentry issues each
COMMENTED_RATE = 0.1  # links whose issue already has a comment, carried: quiet, but read on their turn
FIRST_PASS = 1  # the benchmark's run is the first pass over a fresh store


class NaiveReconciler(Reconciler):
    """The obvious loop: per link, GET the work item and GET the issue, then plan and write."""

    def _page(self, links: list[Link], pool: Any, report: Report, dry_run: bool, lists: Any = None) -> None:
        for link in links:
            work_item = self.syncer._get_work_item(link.work_item_id)  # type: ignore[attr-defined]
            issue = self.syncer._get_issue(link.sentry_issue_id)  # type: ignore[attr-defined]
            result = self._link(link, work_item, issue, dry_run=dry_run)
            report.drifted += bool(result["events"])
            report.writes += result["writes"]
            report.bad.extend(result["bad"])


@contextmanager
def emulators(latency_ms: float) -> Iterator[dict[str, str]]:
    """Both emulators in a child process (bench/emulator_host.py); stops it on exit."""
    child = subprocess.Popen([sys.executable, str(ROOT / "bench" / "emulator_host.py"), "--latency-ms",
                              str(latency_ms)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        yield json.loads(child.stdout.readline())
    finally:
        if child.stdin:
            child.stdin.close()
        child.wait(timeout=30)


def sync_config(workdir: Path) -> Path:
    text = DEFAULT_SYNC_CONFIG.read_text().replace("enabled = true", "enabled = false")
    path = workdir / "bench-sync.toml"
    path.write_text(text)
    return path


@contextmanager
def seeded_runtime(urls: dict[str, str], workdir: Path, name: str, links: int
                   ) -> Iterator[tuple[Any, tuple[int, int, int], int, int, int]]:
    """Fresh emulator state with `links` pairs (the same every time), a fresh store holding their
    links, and a runtime whose caches are warm. Yields (runtime, (drifted fields, the writes that
    repair them, work items), lost comments, links with a carried comment, Sentry comment lists
    read on their turn in the first pass)."""
    from shared.runtime import runtime

    seeded = requests.post(urls["seed_url"], json={"links": links, "drift_rate": DRIFT_RATE,
                                                   "commented_rate": COMMENTED_RATE, "shared_rate": SHARED_RATE},
                           timeout=600).json()
    work_items = len({d["work_item_id"] for d in seeded["links"]})
    comment_drifts = sum(kind in COMMENT_DRIFTS for _, kind in seeded["drifted"])
    read_by_count = {issue for issue, kind in seeded["drifted"] if kind == "sentry_comment"}
    env = app_settings(urls["sentry_url"], urls["ado_org_url"], str(workdir), sync_config(workdir))
    env["SQLITE_PATH"] = str(workdir / f"{name}.sqlite")
    with applied_env(env):
        rt = runtime()
        stored = [Link.from_dict(d) for d in seeded["links"]]
        del seeded["links"]
        commented = sum(bool(link.synced.sentry_comments) for link in stored)
        turns = sum(link.sentry_issue_id not in read_by_count and rechecked(
            link, Counts(link.synced.sentry_comments or 0, 0, None), FIRST_PASS) for link in stored)
        store_links(rt.store, stored)
        del stored
        rt.metadata.states("Shop", "Bug")
        rt.metadata.bridge()
        rt.metadata.sentry_members()
        yield rt, (len(seeded["drifted"]), seeded["writes"], work_items), comment_drifts, commented, turns


def calls(rt: Any) -> int:
    return rt.ado.request_count + rt.sentry.request_count


def timed_run(rt: Any, engine: type[Reconciler], concurrency: int) -> tuple[Report, int, float]:
    reconciler = engine(rt.config, rt.store, rt.ado, rt.sentry, rt.syncer, concurrency=concurrency)
    before = calls(rt)
    start = time.perf_counter()
    report = reconciler.run()
    return report, calls(rt) - before, time.perf_counter() - start


def fill_url_cache() -> None:
    """CPython's urlsplit keeps a process-wide cache bounded at 128 entries. A first run fills it
    (about 0.8 MB of our long id-list URLs), later runs only replace entries; fill it before
    tracing so a bounded stdlib cache filling up is not counted as the engine's own growth."""
    for i in range(256):
        urllib.parse.urlsplit(f"http://127.0.0.1/api/0/organizations/acme/issues/?{'group=1000000&' * 100}n={i}")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def engine_child() -> None:
    """In a fresh process: read the app settings from stdin, build the runtime, run the engine
    once, report the resident set before the run and its peak."""
    from shared.runtime import runtime

    with applied_env(json.loads(sys.stdin.read())):
        rt = runtime()
        rt.syncer  # noqa: B018 - store, clients and config built before the start line
        start = rss_mb()
        Reconciler(rt.config, rt.store, rt.ado, rt.sentry, rt.syncer).run()
        print(json.dumps({"rss_start_mb": round(start, 1), "peak_rss_mb": round(rss_mb(), 1)}))


def start_engine_child() -> subprocess.Popen:
    """Started before this process grows: a child's peak RSS counts its parent's at the fork."""
    return subprocess.Popen([sys.executable, __file__, "--engine-child"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def peak_rss(urls: dict[str, str], workdir: Path, links: int, child: subprocess.Popen) -> dict[str, float]:
    """Seed here, then let the waiting child run the engine over that store: its peak RSS is the
    engine's and the imports', not this benchmark's (which holds the seeded links meanwhile)."""
    with seeded_runtime(urls, workdir, f"rss-{links}", links):
        env = {k: os.environ[k] for k in app_settings(urls["sentry_url"], urls["ado_org_url"], str(workdir),
                                                       sync_config(workdir))}
        out, _ = child.communicate(json.dumps(env), timeout=3600)
    return json.loads(out.strip().splitlines()[-1])


def peak_mb(urls: dict[str, str], workdir: Path, links: int) -> float:
    with seeded_runtime(urls, workdir, f"mem-{links}", links) as (rt, *_):
        reconciler = Reconciler(rt.config, rt.store, rt.ado, rt.sentry, rt.syncer)
        fill_url_cache()
        tracemalloc.start()
        try:
            reconciler.run()
            return tracemalloc.get_traced_memory()[1] / 1e6
        finally:
            tracemalloc.stop()


def ours(urls: dict[str, str], workdir: Path, n: int) -> tuple[dict[str, Any], float, int]:
    with seeded_runtime(urls, workdir, f"ours-{n}", n) as (rt, (drifted, writes, work_items), comment_lists,
                                                           commented, turns):
        warm = calls(rt)
        report, used, wall = timed_run(rt, Reconciler, Reconciler.concurrency)
        again, _, _ = timed_run(rt, Reconciler, Reconciler.concurrency)
    print(f"ours at {n}: {used} calls in {wall:.2f}s", file=sys.stderr, flush=True)
    return ({"work_items": work_items, "drifted": drifted, "writes": report.writes, "floor_writes": writes,
             "errors": len(report.errors), "warmup_calls": warm,
             "comment_drifts": comment_lists, "commented": commented, "turn_reads": turns,
             "api_calls": used,
             "floor_calls": math.ceil(n / 200) + math.ceil(n / 100) + writes + comment_lists + turns,
             "converged": again.drifted == 0 and again.writes == 0}, wall, used)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--skip-naive", action="store_true", help="leave out the naive reconciler")
    parser.add_argument("--engine-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine_child:
        engine_child()
        return
    child = start_engine_child()
    n = args.links
    base = 1000 if n <= 10_000 else 10_000
    workdir = Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    out: dict[str, Any] = {"links": n, "latency_ms": args.latency_ms}
    with emulators(args.latency_ms) as urls:
        figures, wall, used = ours(urls, workdir, n)
        out.update(figures, wall_s=round(wall, 3))
        if not args.skip_naive:
            with seeded_runtime(urls, workdir, "naive", n) as (rt, *_):
                naive, naive_used, naive_wall = timed_run(rt, NaiveReconciler, 1)
            print(f"naive: {naive_used} calls in {naive_wall:.2f}s", file=sys.stderr, flush=True)
            out.update(naive_api_calls=naive_used, naive_writes=naive.writes,
                       calls_ratio=round(naive_used / used, 1), naive_wall_s=round(naive_wall, 3),
                       wall_ratio=round(naive_wall / wall, 1))
        out["peak_mb"] = round(peak_mb(urls, workdir, n), 2)
        out.update(peak_rss(urls, workdir, n, child))
        if n > base:
            _, base_wall, _ = ours(urls, workdir, base)
            out[f"peak_mb_{base}"] = round(peak_mb(urls, workdir, base), 2)
            out[f"wall_s_{base}"] = round(base_wall, 3)
            out["peak_ratio"] = round(out["peak_mb"] / out[f"peak_mb_{base}"], 2)
            out["wall_per_link_ratio"] = round((wall / n) / (base_wall / base), 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
