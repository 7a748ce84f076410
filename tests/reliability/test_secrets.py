"""A full demo run at DEBUG log level never shows a secret, token or PAT (nor its base64 form)."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.sentry import seed
from sandbox.stack import ADO_PAT, HOOK_SECRET

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_debug_demo_output_holds_no_secret(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    proc = subprocess.run([sys.executable, "-m", "cli.main", "demo", "--log-level", "DEBUG", "--journal",
                           str(journal)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert "DEBUG" in output  # the log really was at DEBUG (urllib3, our modules)
    secrets = {"Sentry token": seed.APP_TOKEN, "Sentry client secret": seed.CLIENT_SECRET, "ADO PAT": ADO_PAT,
               "ADO hook secret": HOOK_SECRET,
               "ADO PAT (basic auth)": base64.b64encode(f":{ADO_PAT}".encode()).decode()}
    leaked = [name for name, value in secrets.items() if value in output]
    assert leaked == [], f"secrets in the demo output: {leaked}"
    # The journal is the sandbox's own record of requests (it shows what was sent, headers included);
    # it proves the secrets were really in use during the run, so their absence above means something.
    recorded = journal.read_text()
    assert secrets["ADO PAT (basic auth)"] in recorded and seed.APP_TOKEN in recorded
