"""The ADO directory look-up: Identities API records as directory entries, the identity host, and
the store cache's TTL (a day, misses too)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sandbox.stack import sandbox_stack
from shared.actions import PersonUnmatched
from shared.ado.client import identity_url
from shared.apply import report_unmatched
from shared.mapping.identities import AdoIdentity, ado_identity_from_api
from shared.metadata import IDENTITY_TTL_S
from shared.runtime import runtime
from shared.store.sqlite import SqliteLinkStore


def record(**props: str) -> dict:
    return {"providerDisplayName": "Ava Chen", "isActive": True,
            "properties": {k: {"$type": "System.String", "$value": v} for k, v in props.items()}}


def test_identity_records_become_directory_entries():
    services = record(SchemaClassName="User", Domain="0b3c4f1e-tenant", Account="ava@contoso.com",
                      Mail="ava@contoso.com")
    assert ado_identity_from_api(services) == AdoIdentity("ava@contoso.com", "Ava Chen", "ava@contoso.com")
    server = record(SchemaClassName="User", Domain="CONTOSO", Account="ava", Mail="ava@contoso.com")
    assert ado_identity_from_api(server) == AdoIdentity("CONTOSO\\ava", "Ava Chen", "ava@contoso.com")
    assert ado_identity_from_api(record(Domain="CONTOSO", Account="svc")) == AdoIdentity("CONTOSO\\svc", "Ava Chen")
    assert ado_identity_from_api({**server, "isContainer": True}) is None
    assert ado_identity_from_api(record(SchemaClassName="Group", Domain="CONTOSO", Account="devs")) is None
    assert ado_identity_from_api({**server, "isActive": False}) is None


@pytest.mark.parametrize(("org", "host"), [
    ("https://dev.azure.com/contoso", "https://vssps.dev.azure.com/contoso"),
    ("https://contoso.visualstudio.com", "https://contoso.vssps.visualstudio.com"),
    ("https://tfs.contoso.local/tfs/DefaultCollection", "https://tfs.contoso.local/tfs/DefaultCollection"),
])
def test_the_identities_api_host(org, host):
    assert identity_url(org) == host


@pytest.mark.parametrize("server", [False, True])
def test_the_look_up_is_cached_in_the_store_for_a_day_misses_too(tmp_path: Path, server: bool) -> None:
    with sandbox_stack(workdir=str(tmp_path), with_host=False, ado_server=server) as stack:
        syncer, store = runtime().metadata, runtime().store
        who = "CONTOSO\\ava" if server else "ava@contoso.com"
        found = syncer.ado_identity(who)
        assert found is not None and found.unique_name == who and found.mail == "ava@contoso.com"
        if server:  # the directory's mail attribute finds the account by email too
            assert syncer.ado_identity("ava@contoso.com").unique_name == "CONTOSO\\ava"
        assert syncer.ado_identity("Ava Chen") is None  # a display name is never matched
        assert syncer.ado_identity("nobody@contoso.com") is None
        searches = len([e for e in stack.ado.journal.entries() if e["path"].endswith("/_apis/identities")])
        assert syncer.ado_identity(who) == found and syncer.ado_identity("nobody@contoso.com") is None
        after = [e for e in stack.ado.journal.entries() if e["path"].endswith("/_apis/identities")]
        assert len(after) == searches  # both from the store
        for key in (who.casefold(), "nobody@contoso.com"):
            marker = store.get_marker("identity", key)
            store.set_marker("identity", key, {**marker, "at": time.time() - IDENTITY_TTL_S - 1})
        syncer.ado_identity(who)
        syncer.ado_identity("nobody@contoso.com")
        again = [e for e in stack.ado.journal.entries() if e["path"].endswith("/_apis/identities")]
        assert len(again) == searches + 2  # expired: asked again


def test_an_unmatched_person_is_reported_once_per_day(tmp_path: Path) -> None:
    store = SqliteLinkStore(tmp_path / "s.sqlite")
    skip = PersonUnmatched("no Azure DevOps identity for carol@example.com; add it to [identities]",
                           "carol@example.com")
    day = 1_800_000_000.0
    assert report_unmatched(store, skip, day) is True
    assert report_unmatched(store, skip, day + 60) is False
    assert report_unmatched(store, PersonUnmatched("x", "CAROL@example.com"), day + 120) is False  # same person
    assert report_unmatched(store, skip, day + 86400) is True  # the next day
    assert report_unmatched(store, skip, day + 3 * 86400) is True
    assert len(store.list_markers("unmatched")) <= 3  # older days are dropped
