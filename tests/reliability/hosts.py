"""More instances of the function app, each in its own process, as Azure scales out: every instance
serves the same routes with its own runtime (settings, clients, caches) and shares the link store
named by the app settings (SQLite in one file, or the Table store in Azurite)."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def serve_app(env: dict[str, str], urls: Any, stop: Any) -> None:
    """One instance: the local host (`sentry-ado serve`) on a free loopback port until `stop` is set."""
    os.environ.update(env)
    import function_app
    from sandbox.core import RunningServer
    from sandbox.local_host import LocalHost
    from shared import runtime

    runtime.reset()
    with RunningServer(LocalHost(function_app.app)) as server:
        urls.put(server.url)
        stop.wait()


@contextmanager
def app_instances(env: dict[str, str], count: int = 1) -> Iterator[list[str]]:
    """`count` more instances of the app configured by `env`; yields their base URLs."""
    ctx = multiprocessing.get_context("spawn")
    urls, stop = ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=serve_app, args=(env, urls, stop), daemon=True) for _ in range(count)]
    for proc in procs:
        proc.start()
    try:
        yield [urls.get(timeout=120) for _ in procs]
    finally:
        stop.set()
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()
