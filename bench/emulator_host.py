"""Bench-only launcher: both emulators in their own process, with added latency, and one extra
route to (re)seed them in-process.

Why a separate process: the benchmark must measure our engine's time and memory, not the
emulators' (they run in the benchmark's process otherwise, sharing its GIL and heap). Why a seed
route: 10,000 pairs through the public API takes minutes; `bench.seed` builds them in milliseconds.

    python bench/emulator_host.py --latency-ms 5
prints one JSON line {"sentry_url", "ado_org_url"} and serves until stdin closes. Then
``POST {ado_url}/_bench/seed`` with {"links": N, "drift_rate": 0.02, "seed": 7, "commented_rate": 0.1,
"shared_rate": 0.1} resets both emulators, seeds N links (`shared_rate` of the work items linked to
two or three issues), gives some a carried comment, drifts some, and answers {"links": [link dicts],
"drifted": [[issue, kind]], "writes": the writes that repair the drift}.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from werkzeug.wrappers import Request, Response

from bench.seed import comment_some, drift_some, floor_writes, seed_pairs
from sandbox.ado.emulator import AdoEmulator
from sandbox.core import Faults, RunningServer
from sandbox.sentry.emulator import SentryEmulator
from sandbox.sentry.emulator import serve as serve_sentry

SEED_PATH = "/_bench/seed"


class SeedingHost:
    """The ADO emulator's WSGI app plus the seed route (which sees no latency and no journal)."""

    def __init__(self, ado: AdoEmulator, sentry: SentryEmulator) -> None:
        self.ado, self.sentry = ado, sentry

    def seed(self, body: dict[str, Any]) -> dict[str, Any]:
        for emulator in (self.ado, self.sentry):
            with emulator.lock:
                emulator.reset_state()
            emulator.journal.clear()
        seed = int(body.get("seed", 7))
        links = seed_pairs(self.ado, self.sentry, int(body["links"]), self.ado.base_url,
                           float(body.get("shared_rate", 0.0)), seed)
        links = comment_some(self.ado, self.sentry, links, float(body.get("commented_rate", 0.0)))
        drifted = drift_some(self.ado, self.sentry, links, float(body.get("drift_rate", 0.02)), seed)
        return {"links": [link.to_dict() for link in links],
                "drifted": [[link.sentry_issue_id, kind] for link, kind in drifted],
                "writes": floor_writes(links, drifted)}

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        if request.path == SEED_PATH and request.method == "POST":
            result = self.seed(request.get_json(force=True))
            return Response(json.dumps(result), mimetype="application/json")(environ, start_response)
        return self.ado(environ, start_response)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=5.0)
    args = parser.parse_args()
    faults = Faults(latency_s=args.latency_ms / 1000)
    sentry, sentry_server = serve_sentry(SentryEmulator(faults=faults))
    ado = AdoEmulator("contoso", faults=faults)
    ado_server = RunningServer(SeedingHost(ado, sentry))
    ado.host = ado_server.url
    print(json.dumps({"sentry_url": sentry_server.url, "ado_org_url": ado.base_url,
                      "seed_url": ado_server.url + SEED_PATH}), flush=True)
    sys.stdin.read()  # the benchmark closes our stdin when it is done (or dies)
    ado_server.stop()
    sentry_server.stop()


if __name__ == "__main__":
    main()
