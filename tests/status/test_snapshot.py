"""The status snapshot reads a bounded number of records, never a link, and renders safely."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from shared.config import get_config
from shared.status import record
from shared.status.render import chart_svg, html_page, problems, text_report
from shared.status.snapshot import gather
from shared.store.sqlite import SqliteLinkStore

NOW = 1_800_000_000.0


class CountingStore:
    """A store that counts every call and refuses to read a link."""

    def __init__(self, inner: SqliteLinkStore) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name in ("iter_pages", "get_by_issue", "get_by_work_item"):
            raise AssertionError(f"the status view read a link ({name})")
        self.calls.append(name)
        return getattr(self.inner, name)


@pytest.fixture
def full_store(tmp_path: Path) -> SqliteLinkStore:
    """Every kind of status record filled to its bound."""
    store = SqliteLinkStore(tmp_path / "links.sqlite")
    for i in range(record.MAX_RUNS + 5):
        record.record_run(store, {"started": NOW - i * 3600, "duration_s": 2.5, "api_calls": 7, "links": 100_000,
                                  "drifted": 3, "writes": 2, "errors": [], "error_count": 0, "finished": True})
    for i in range(record.MAX_FAILURES + 5):
        record.record_failure(store, "ado-events", f"m{i}", "AdoError: 404 <script>alert(1)</script>",
                              summary="workitem.updated for work item 7", now=NOW - i * 60)
    record.record_link_counts(store, {"linked": 99_990, "unlinked": 10}, NOW)
    record.record_subscriptions(store, [{"project": "Shop", "event_type": "workitem.updated", "id": "s1",
                                         "healthy": False, "action": "create", "detail": "missing"}], NOW)
    return store


def test_the_snapshot_reads_no_link_and_a_bounded_number_of_records(app_env, full_store) -> None:
    store = CountingStore(full_store)
    snap = gather(get_config(), store, None, NOW)  # type: ignore[arg-type]
    assert len(store.calls) <= 6, store.calls
    assert snap["links"]["total"] == 100_000 and len(snap["runs"]) == 10
    assert snap["failure_count"] == record.MAX_FAILURES and len(snap["failures"]) == 20
    assert sum(d["repaired"] for d in snap["chart"]) == 2 * (record.MAX_RUNS + 5)


def test_the_page_escapes_what_it_shows_and_names_each_problem(app_env, full_store) -> None:
    snap = gather(get_config(), full_store, None, NOW)
    page = html_page(snap)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    found = problems(snap)
    assert "no queue storage configured (AzureWebJobsStorage)" in found
    assert any("hook subscription workitem.updated in Shop was created: missing" in p for p in found)
    assert not any("sync failure" in p for p in found)  # history, shown but not a problem by itself
    text = text_report(snap)
    assert "links: 100000 (linked 99990, unlinked 10)" in text


def test_the_chart_has_one_pair_of_bars_per_day_scaled_to_the_largest() -> None:
    days = [{"day": f"2026-11-{d:02d}", "repaired": d, "failures": 10 - d, "drifted": d} for d in range(1, 8)]
    svg = chart_svg(days)
    assert svg.count('class="bar repaired"') == 7 and svg.count('class="bar failures"') == 7
    heights = [float(h) for h in re.findall(r'class="bar repaired"[^>]*height="([\d.]+)"', svg)]
    assert heights == sorted(heights) and max(heights) > 0
    assert ">11-07<" in svg and "2026-11-07: 7 drift repaired" in svg
