"""The ADO client against the emulator where Azure DevOps behaves in ways a naive client misses:
lists that page by response header, throttling that delays with a 200 before it ever refuses.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.ado.emulator import PROJECTS_PAGE, AdoEmulator
from sandbox.ado.seed import DEFAULT_TOKEN
from sandbox.ado.testing import running_ado
from shared.ado.auth import PatAuth
from shared.ado.client import AdoClient, MetadataCache
from shared.transport import RetryPolicy

FAST = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05, total_budget_s=10)


@pytest.fixture
def ado() -> Iterator[AdoEmulator]:
    with running_ado() as (emulator, _server):
        yield emulator


def client_for(ado: AdoEmulator, **options: object) -> AdoClient:
    return AdoClient(ado.base_url, PatAuth(DEFAULT_TOKEN), policy=FAST, metadata=MetadataCache(), **options)


def test_projects_follow_the_continuation_header_past_the_first_page(ado: AdoEmulator) -> None:
    added = [ado.add_project(f"Team {i:03d}").name for i in range(PROJECTS_PAGE + 20 - len(ado.projects))]
    names = [p["name"] for p in client_for(ado).projects()]
    assert len(names) == len(set(names)) == PROJECTS_PAGE + 20
    assert added[-1] in names  # on the second page
    calls = [e for e in ado.journal.entries() if e["path"].endswith("/_apis/projects")]
    assert [c["query"].get("continuationToken") for c in calls] == [None, str(PROJECTS_PAGE)]
