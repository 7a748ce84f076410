"""The process-wide runtime is built once, however many invocations ask for it at the same moment."""

from __future__ import annotations

import threading
import time

import pytest

from shared import runtime


def test_invocations_arriving_together_share_one_runtime(app_env, monkeypatch: pytest.MonkeyPatch) -> None:
    real = runtime.get_config

    def slow_config():  # widens the window a cold start leaves between "not built" and "built"
        time.sleep(0.05)
        return real()

    slow_config.cache_clear = real.cache_clear
    monkeypatch.setattr(runtime, "get_config", slow_config)
    runtime.reset()
    start, built = threading.Barrier(8), []

    def invoke() -> None:
        start.wait()
        built.append(runtime.runtime())

    threads = [threading.Thread(target=invoke) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 8 and len({id(r) for r in built}) == 1
    assert runtime.runtime() is built[0]


def test_reset_forgets_the_runtime(app_env) -> None:
    first = runtime.runtime()
    runtime.reset()
    assert runtime.runtime() is not first
