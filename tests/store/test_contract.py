"""The link store contract, run against every implementation (SQLite and Azure Table on Azurite)."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest

from shared.store import LINKED, ConcurrentUpdate, Link, LinkStore, update_with_retry
from shared.store.base import link_key
from shared.store.sqlite import SqliteLinkStore
from shared.store.table import TableLinkStore

ADO = "https://dev.azure.com/contoso"
_ids = itertools.count(1000)


@pytest.fixture(params=["sqlite", "table"])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[LinkStore]:
    if request.param == "sqlite":
        yield SqliteLinkStore(tmp_path / "links.sqlite")
    else:
        conn = request.getfixturevalue("azurite_connection")
        yield TableLinkStore.from_settings(conn, None, table_name=f"t{uuid.uuid4().hex[:12]}")


def new_link(issue_id: str | None = None) -> Link:
    return Link(sentry_org="acme", sentry_issue_id=issue_id or str(next(_ids)), sentry_project="backend",
                sentry_short_id="BACKEND-1", ado_org_url=ADO, ado_project="Shop")


def test_claim_then_lookup_both_ways(store: LinkStore) -> None:
    claimed = store.claim(new_link("42"))
    assert claimed is not None and claimed.etag
    assert store.get_by_work_item(ADO, 7) is None
    linked = store.save(replace(claimed, work_item_id=7, state=LINKED))
    by_issue = store.get_by_issue("acme", "42")
    by_wi = store.get_by_work_item(ADO, 7)
    assert by_issue == by_wi == linked
    assert by_issue.is_linked and by_issue.sentry_short_id == "BACKEND-1"
    assert store.get_by_work_item("https://dev.azure.com/other", 7) is None
    assert store.get_by_issue("acme", "43") is None


def test_second_claim_loses(store: LinkStore) -> None:
    assert store.claim(new_link("5")) is not None
    assert store.claim(new_link("5")) is None


def test_twenty_threads_race_to_claim_one_issue(store: LinkStore) -> None:
    barrier = threading.Barrier(20)
    wins: list[Link] = []
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            barrier.wait()
            got = store.claim(new_link("777"))
            if got is not None:
                wins.append(got)
        except BaseException as exc:  # a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(wins) == 1


def test_stale_etag_is_rejected_and_retry_applies(store: LinkStore) -> None:
    first = store.claim(new_link("9"))
    second_reader = store.get_by_issue("acme", "9")
    store.save(first.with_synced(sentry_status="resolved"))
    with pytest.raises(ConcurrentUpdate):
        store.save(second_reader.with_synced(ado_state="Active"))
    merged = update_with_retry(store, "acme", "9", lambda link: link.with_synced(ado_state="Active"))
    assert merged.synced.sentry_status == "resolved" and merged.synced.ado_state == "Active"


def test_release_frees_a_failed_claim(store: LinkStore) -> None:
    claimed = store.claim(new_link("11"))
    store.release(claimed)
    assert store.get_by_issue("acme", "11") is None
    assert store.claim(new_link("11")) is not None


def test_pages_stream_in_key_order_and_resume(store: LinkStore) -> None:
    ids = [str(i) for i in range(1, 26)]
    for i in ids:
        store.claim(new_link(i))
    pages = list(store.iter_pages(page_size=10))
    assert [len(p) for p in pages] == [10, 10, 5]
    seen = [link.sentry_issue_id for page in pages for link in page]
    assert seen == ids  # numeric order, not string order
    resumed = [link.sentry_issue_id for page in store.iter_pages(page_size=10, after=link_key(pages[0][-1]))
               for link in page]
    assert resumed == ids[10:]


def test_markers(store: LinkStore) -> None:
    assert store.get_marker("checkpoint", "reconcile") is None
    store.set_marker("checkpoint", "reconcile", {"after": "acme:1"})
    store.set_marker("checkpoint", "reconcile", {"after": "acme:2"})
    assert store.get_marker("checkpoint", "reconcile") == {"after": "acme:2"}
    assert store.claim_marker("deploy", "run/7#prod", {"at": 1}) is True
    assert store.claim_marker("deploy", "run/7#prod", {"at": 2}) is False
    assert store.get_marker("deploy", "run/7#prod") == {"at": 1}
    store.ping()


def test_synced_values_and_comment_ids_round_trip(store: LinkStore) -> None:
    link = store.claim(new_link("15"))
    changed = replace(link.with_synced(ado_rev=3, ado_changed_at="2026-11-27T06:00:00Z"),
                      comment_ids=("s:1", "a:2"))
    saved = store.save(changed)
    again = store.get_by_issue("acme", "15")
    assert again.synced.ado_rev == 3 and again.synced.ado_changed_at == "2026-11-27T06:00:00Z"
    assert again.comment_ids == ("s:1", "a:2")
    assert again.etag == saved.etag


def test_comment_copies_round_trip_and_change_under_the_etag(store: LinkStore) -> None:
    link = store.claim(new_link("16"))
    copies = {"sentry:12": "ado:34#a1b2c3d4e5f6", "ado:7": "sentry:56#0f0f0f0f0f0f"}
    saved = store.save(replace(link, comment_copies=copies))
    again = store.get_by_issue("acme", "16")
    assert again.comment_copies == copies and again.copy_of("ado:7") == ("sentry:56", "0f0f0f0f0f0f")
    fewer = store.save(replace(again, comment_copies={"ado:7": copies["ado:7"]}))
    assert store.get_by_issue("acme", "16").comment_copies == {"ado:7": copies["ado:7"]}
    with pytest.raises(ConcurrentUpdate):  # a stale copy of the link cannot bring the pair back
        store.save(replace(saved, comment_copies=copies))
    assert fewer.etag != saved.etag


def test_markers_of_one_kind_list_in_key_order_and_delete(store: LinkStore) -> None:
    assert store.list_markers("run") == []
    for key in ("2026-11-30T06:15:00Z", "2026-11-29T06:15:00Z", "2026-11-30T06:00:00Z#2"):
        store.set_marker("run", key, {"key": key})
    store.set_marker("other", "2026-11-28T00:00:00Z", {"key": "other"})
    listed = store.list_markers("run")
    assert [k for k, _ in listed] == ["2026-11-29T06:15:00Z", "2026-11-30T06:00:00Z#2", "2026-11-30T06:15:00Z"]
    assert [v["key"] for _, v in listed] == [k for k, _ in listed]
    assert [k for k, _ in store.list_markers("run", limit=2)] == ["2026-11-29T06:15:00Z", "2026-11-30T06:00:00Z#2"]
    store.delete_marker("run", "2026-11-30T06:00:00Z#2")
    store.delete_marker("run", "never-there")
    assert [k for k, _ in store.list_markers("run")] == ["2026-11-29T06:15:00Z", "2026-11-30T06:15:00Z"]
    assert store.get_marker("run", "2026-11-30T06:00:00Z#2") is None
    assert store.get_marker("other", "2026-11-28T00:00:00Z") == {"key": "other"}


def damage(store: LinkStore, issue_id: str, text: str) -> str:
    """Write a record no version of the app wrote (damaged JSON): what an edit by hand leaves."""
    from shared.store.base import issue_key

    key = issue_key("acme", issue_id)
    if isinstance(store, SqliteLinkStore):
        store._conn().execute("INSERT INTO links VALUES (?, ?, 1, ?)", (key, f"{ADO}#{issue_id}", text))
    else:
        from shared.store.table import LINKS, WORK_ITEMS, _rk

        store._table.create_entity({"PartitionKey": LINKS, "RowKey": _rk(key), "data": text})
        store._table.create_entity({"PartitionKey": WORK_ITEMS, "RowKey": _rk(f"{ADO.lower()}#{issue_id}"),
                                    "link": _rk(key)})
    return key


def test_a_damaged_record_is_listed_in_its_place_named_by_point_reads_and_removable(store: LinkStore) -> None:
    from shared.store.model import DamagedLink, DamagedRecord

    for issue_id in ("1", "4"):
        store.claim(new_link(issue_id))
    broken = damage(store, "2", '{"sentry_org": "acme", "sentry_iss')
    wrong = damage(store, "3", '{"sentry_org": "acme", "sentry_issue_id": "3", "comment_ids": 5}')
    (page,) = list(store.iter_pages())
    assert [type(r).__name__ for r in page] == ["Link", "DamagedLink", "DamagedLink", "Link"]
    assert isinstance(page[1], DamagedLink) and page[1].key == broken and "JSONDecodeError" in page[1].reason
    assert page[2].key == wrong and "TypeError" in page[2].reason
    # one damaged record does not hide the page after it either
    assert [r.key if isinstance(r, DamagedLink) else r.sentry_issue_id
            for p in store.iter_pages(page_size=1, after=broken) for r in p] == [wrong, "4"]
    with pytest.raises(DamagedRecord, match=f"{broken}: stored link is not readable"):
        store.get_by_issue("acme", "2")
    with pytest.raises(DamagedRecord, match=f"{wrong}: stored link is not readable"):
        store.get_by_work_item(ADO, 3)
    assert store.remove(broken) and not store.remove(broken)
    assert store.get_by_issue("acme", "2") is None and store.get_by_work_item(ADO, 2) is None
    assert [link_key(r) for p in store.iter_pages() for r in p if not isinstance(r, DamagedLink)] == \
        [link_key(new_link("1")), link_key(new_link("4"))]


def linked_to(store: LinkStore, issue_id: str, work_item_id: int, org_url: str = ADO) -> Link:
    claimed = store.claim(replace(new_link(issue_id), ado_org_url=org_url, work_item_id=work_item_id, state=LINKED))
    assert claimed is not None
    return claimed


def test_a_work_item_links_several_issues_each_found_both_ways(store: LinkStore) -> None:
    first, second, third = (linked_to(store, i, 70) for i in ("21", "300", "4000"))
    assert store.links_for_work_item(ADO, 70) == [first, second, third]  # in issue key order
    assert store.links_for_work_item(ADO.upper() + "/", 70) == [first, second, third]  # one org, however spelled
    assert store.get_by_work_item(ADO, 70) == first
    for link in (first, second, third):
        assert store.get_by_issue("acme", link.sentry_issue_id) == link
    # each link keeps its own synced values and etag
    saved = store.save(second.with_synced(sentry_status="resolved"))
    assert store.links_for_work_item(ADO, 70) == [first, saved, third]
    with pytest.raises(ConcurrentUpdate):
        store.save(second.with_synced(sentry_status="ignored"))


def test_the_reverse_index_names_one_work_item_not_its_neighbours(store: LinkStore) -> None:
    for issue_id, work_item_id in (("1", 1), ("2", 12), ("3", 120), ("4", 1200), ("5", 2)):
        linked_to(store, issue_id, work_item_id)
    linked_to(store, "6", 12, "https://dev.azure.com/contoso2")
    assert [link.sentry_issue_id for link in store.links_for_work_item(ADO, 12)] == ["2"]
    assert [link.sentry_issue_id for link in store.links_for_work_item(ADO, 1)] == ["1"]
    assert store.links_for_work_item(ADO, 13) == [] and store.get_by_work_item(ADO, 13) is None


def test_a_link_that_moves_or_goes_leaves_the_others_linked(store: LinkStore) -> None:
    _stay, moved, gone = (linked_to(store, i, 80) for i in ("31", "32", "33"))
    store.save(replace(moved, work_item_id=81))
    assert store.remove(link_key(gone))
    assert [link.sentry_issue_id for link in store.links_for_work_item(ADO, 80)] == ["31"]
    assert [link.sentry_issue_id for link in store.links_for_work_item(ADO, 81)] == ["32"]
    store.release(store.get_by_issue("acme", "31"))
    assert store.links_for_work_item(ADO, 80) == []
    assert store.get_by_issue("acme", "32").work_item_id == 81


def test_concurrent_links_to_one_work_item_are_all_found_and_each_issue_once(store: LinkStore) -> None:
    """Twelve issues linked to one work item at once, each issue by two racing requests: every
    issue is linked exactly once and the reverse index lists all of them."""
    issues = [str(500 + i) for i in range(12)]
    barrier = threading.Barrier(len(issues) * 2)
    wins: list[Link] = []
    errors: list[BaseException] = []

    def attempt(issue_id: str) -> None:
        try:
            barrier.wait()
            got = store.claim(replace(new_link(issue_id), work_item_id=90, state=LINKED))
            if got is not None:
                wins.append(got)
        except BaseException as exc:  # a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in issues for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(link.sentry_issue_id for link in wins) == issues
    assert [link.sentry_issue_id for link in store.links_for_work_item(ADO, 90)] == issues


def test_a_store_written_before_several_issues_per_work_item_still_finds_its_links(store: LinkStore, tmp_path) -> None:
    """SQLite: a file whose work_item_key was UNIQUE is rebuilt without it when opened. Table: the
    older index entity (RowKey = the work item key alone) is found by the same range read."""
    import json
    import sqlite3

    old = replace(new_link("41"), work_item_id=95, state=LINKED)
    if isinstance(store, SqliteLinkStore):
        path = tmp_path / "old.sqlite"
        conn = sqlite3.connect(path)
        conn.executescript("CREATE TABLE links (issue_key TEXT PRIMARY KEY, work_item_key TEXT UNIQUE, "
                           "version INTEGER NOT NULL, data TEXT NOT NULL);")
        conn.execute("INSERT INTO links VALUES (?, ?, 3, ?)",
                     (link_key(old), f"{ADO}#95", json.dumps(old.to_dict())))
        conn.commit()
        conn.close()
        store = SqliteLinkStore(path)
    else:
        from shared.store.table import LINKS, WORK_ITEMS, _rk

        store._table.create_entity({"PartitionKey": LINKS, "RowKey": _rk(link_key(old)),
                                    "data": json.dumps(old.to_dict())})
        store._table.create_entity({"PartitionKey": WORK_ITEMS, "RowKey": _rk(f"{ADO}#95"), "link": _rk(link_key(old))})
    assert [link.sentry_issue_id for link in store.links_for_work_item(ADO, 95)] == ["41"]
    second = linked_to(store, "42", 95)
    assert [link.sentry_issue_id for link in store.links_for_work_item(ADO, 95)] == ["41", "42"]
    saved = store.save(store.get_by_issue("acme", "41").with_synced(ado_rev=9))  # re-indexed in the new layout
    assert store.links_for_work_item(ADO, 95) == [saved, second]
