"""Session fixtures: Azurite (started once, stopped by process id)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.azurite import Azurite, start_azurite


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    server = start_azurite()  # raises (the test errors) if Azurite cannot start: never a silent skip
    yield server
    server.stop()


@pytest.fixture(scope="session")
def azurite_connection(azurite: Azurite) -> str:
    return azurite.connection_string
