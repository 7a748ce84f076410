"""The one metadata cache: small values in the store for an hour (shared by workers and runs),
type definitions and area trees in the process for an hour; each API read happens once per key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.config import parse_settings
from shared.metadata import Metadata, ProcessCache
from shared.store.sqlite import SqliteLinkStore
from tests.ado.scripted_server import FakeTime
from tests.conftest import SETTINGS

STATES = [{"name": "New", "category": "Proposed"}, {"name": "Done", "category": "Completed"}]


class CountingAdo:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def work_item_type_states(self, project: str, wit: str) -> list[dict[str, Any]]:
        self.calls.append(("states", project, wit))
        return STATES

    def work_item_types(self, project: str) -> list[dict[str, Any]]:
        self.calls.append(("types", project))
        return [{"name": "Bug"}]


def metadata(tmp_path: Path, ado: CountingAdo, process: ProcessCache | None = None) -> Metadata:
    store = SqliteLinkStore(str(tmp_path / "links.sqlite"))
    return Metadata(store, ado, None, parse_settings({**SETTINGS, "SQLITE_PATH": str(tmp_path / "links.sqlite")}),
                    process)


def test_type_states_are_read_once_per_project_and_type_for_every_worker(tmp_path: Path) -> None:
    ado = CountingAdo()
    first = metadata(tmp_path, ado)
    assert first.states("P", "Bug")[1].category == "Completed"
    metadata(tmp_path, ado).states("P", "Bug")  # another worker, the same store
    first.states("P", "Task")
    assert ado.calls == [("states", "P", "Bug"), ("states", "P", "Task")]


def test_work_item_types_are_kept_per_process_per_project_and_expire(tmp_path: Path) -> None:
    ado, fake = CountingAdo(), FakeTime()
    cache = metadata(tmp_path, ado, ProcessCache(ttl_s=60, clock=fake.clock))
    cache.work_item_types("P")
    cache.work_item_types("p")
    fake.sleep(61)
    cache.work_item_types("P")
    assert ado.calls == [("types", "P"), ("types", "P")]
