"""Cold start: time to `import function_app` against `import azure.functions` alone, in fresh processes.

Heavy imports (the API clients, msal, the Table SDK, the mapping libraries) are deferred to first
use so the host indexes the app quickly. ``SENTRY_DSN`` (error reporting) loads sentry-sdk at import,
so both are measured. Prints one JSON object as its last line: {"import_s", "baseline_s", "ratio",
"with_dsn_s", "with_dsn_ratio"} where ratio = ours / baseline (goal without the DSN: under 1.5).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def time_import(statement: str, runs: int, env: dict[str, str] | None = None) -> float:
    """Median wall time of a fresh interpreter running `statement`, minus an empty interpreter."""
    environ = {k: v for k, v in os.environ.items() if k != "SENTRY_DSN"} | (env or {})

    def once(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, env=environ)
        return time.perf_counter() - start

    samples = [once(statement) - once("pass") for _ in range(runs)]
    return max(statistics.median(samples), 1e-6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    baseline = time_import("import azure.functions", args.runs)
    app = "import function_app; function_app.app.get_functions()"
    ours = time_import(app, args.runs)
    # a DSN on a closed loopback port: the SDK starts, nothing is sent
    with_dsn = time_import(app, args.runs, {"SENTRY_DSN": "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1"})
    print(json.dumps({"import_s": round(ours, 4), "baseline_s": round(baseline, 4),
                      "ratio": round(ours / baseline, 3), "with_dsn_s": round(with_dsn, 4),
                      "with_dsn_ratio": round(with_dsn / baseline, 3), "runs": args.runs}))


if __name__ == "__main__":
    main()
