"""The status page's cost with 100,000 links against 1,000: it must not grow with the links.

Links are written straight into a SQLite link store file (one transaction; the page never reads them,
which is the point), every kind of status record is filled to its bound (30 runs, 14 days, 300
failures), then `gather` + `html_page` (what GET /api/status does, less HTTP) is timed. Prints one JSON
object as its last line: {"links", "page_ms", "page_ms_small", "ratio"} (goal: ratio near 1).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from shared.config import Config, SyncRules, parse_settings
from shared.status import record
from shared.status.render import html_page
from shared.status.snapshot import gather
from shared.store import LINKED, Link
from shared.store.base import link_key
from shared.store.sqlite import SqliteLinkStore, work_item_key

ADO = "https://dev.azure.com/contoso"


def filled_store(path: Path, links: int) -> SqliteLinkStore:
    store = SqliteLinkStore(path)
    rows = []
    for i in range(1, links + 1):
        link = Link(sentry_org="acme", sentry_issue_id=str(i), ado_org_url=ADO, ado_project="Shop", work_item_id=i,
                    state=LINKED, sentry_short_id=f"BACKEND-{i}")
        rows.append((link_key(link), work_item_key(ADO, i), 1, json.dumps(link.to_dict())))
    with sqlite3.connect(path) as conn:
        conn.executemany("INSERT INTO links (issue_key, work_item_key, version, data) VALUES (?, ?, ?, ?)", rows)
    now = time.time()
    for i in range(record.MAX_RUNS):
        record.record_run(store, {"started": now - i * 3600 * 12, "duration_s": 3.1, "api_calls": links // 66,
                                  "links": links, "drifted": 20, "writes": 20, "errors": [], "finished": True})
    for i in range(record.MAX_FAILURES):
        record.record_failure(store, "ado-events", f"m{i}", "AdoError: 503", summary="workitem.updated", now=now - i)
    record.record_link_counts(store, {"linked": links}, now)
    return store


def page_ms(store: SqliteLinkStore, config: Config) -> float:
    start = time.perf_counter()
    html_page(gather(config, store, None))
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    settings = parse_settings({"SENTRY_ORG": "acme", "SENTRY_TOKEN": "t", "SENTRY_CLIENT_SECRET": "s",
                               "ADO_ORG_URL": ADO, "ADO_PAT": "p", "ADO_AUTH": "pat", "ADO_HOOK_SECRET": "h",
                               "LINK_STORE": "sqlite"})
    config = Config(settings, SyncRules())
    with tempfile.TemporaryDirectory() as tmp:
        stores = filled_store(Path(tmp) / "small.sqlite", 1_000), filled_store(Path(tmp) / "big.sqlite", args.links)
        samples: tuple[list[float], list[float]] = ([], [])
        for _ in range(args.runs):  # interleaved, so a busy machine slows both alike
            for store, out in zip(stores, samples, strict=True):
                out.append(page_ms(store, config))
        small, big = (statistics.median(x) for x in samples)
    print(json.dumps({"links": args.links, "page_ms": round(big, 2), "page_ms_small": round(small, 2),
                      "ratio": round(big / small, 3), "runs": args.runs}))


if __name__ == "__main__":
    main()
