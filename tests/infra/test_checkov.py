"""checkov over infra/ through tools/checkov.sh: zero failed checks and zero parsing errors.

Slow: the first run creates .venv-checkov and installs checkov from PyPI (about a minute). If that
install fails the tests fail with the script's output; they never skip, because CI has PyPI access
and a silently skipped security scan is worse than a red build.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.infra.bicep_settings import MODULES, REPO

SCRIPT = REPO / "tools" / "checkov.sh"
SUMMARY = re.compile(
    r"^checkov: (?P<verdict>OK|FAIL) passed=(?P<passed>\d+) failed=(?P<failed>\d+) "
    r"skipped=(?P<skipped>\d+) parsing_errors=(?P<parsing_errors>\d+) resources=(?P<resources>\d+)$",
    re.M,
)

pytestmark = pytest.mark.slow


def run_checkov(scan_dir: Path | None = None) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    env = dict(os.environ)
    if scan_dir is not None:
        env["CHECKOV_DIR"] = str(scan_dir)
    proc = subprocess.run(
        ["bash", str(SCRIPT)], cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    match = SUMMARY.search(proc.stdout)
    assert match, f"no summary line from {SCRIPT.name} (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc, match.groupdict()


@pytest.fixture(scope="module")
def infra_scan() -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    return run_checkov()


def test_infra_has_no_failed_checks_and_no_parse_errors(infra_scan) -> None:
    proc, summary = infra_scan
    details = f"{proc.stdout}\n{proc.stderr}"
    assert summary["failed"] == "0", details
    assert summary["parsing_errors"] == "0", details
    assert int(summary["passed"]) >= 20, f"suspiciously few checks ran:\n{details}"
    assert summary["verdict"] == "OK" and proc.returncode == 0, details


def test_script_fails_on_a_failed_check(infra_scan, tmp_path: Path) -> None:
    (tmp_path / "site.bicep").write_text(
        "resource site 'Microsoft.Web/sites@2024-04-01' = {\n"
        "  name: 'func-bad'\n"
        "  location: 'westeurope'\n"
        "  kind: 'functionapp,linux'\n"
        "  properties: {\n"
        "    httpsOnly: false\n"
        "  }\n"
        "}\n",
        encoding="utf-8",
    )
    proc, summary = run_checkov(tmp_path)
    assert proc.returncode != 0 and summary["verdict"] == "FAIL"
    assert int(summary["failed"]) > 0
    assert "CKV_AZURE_70" in proc.stderr  # "Function app should only be accessible over HTTPS"


def test_script_fails_on_a_parse_error_even_when_checks_pass(infra_scan, tmp_path: Path) -> None:
    # A file that passes on its own, plus one checkov cannot parse (checkov itself exits 0 here).
    (tmp_path / "keyvault.bicep").write_text((MODULES / "keyvault.bicep").read_text(encoding="utf-8"))
    broken = "resource x 'Microsoft.Web/sites@2024-04-01' = {\n  name: \n"
    (tmp_path / "broken.bicep").write_text(broken, encoding="utf-8")
    proc, summary = run_checkov(tmp_path)
    assert summary["failed"] == "0" and int(summary["passed"]) > 0, proc.stdout + proc.stderr
    assert summary["parsing_errors"] == "1"
    assert proc.returncode != 0 and summary["verdict"] == "FAIL"
