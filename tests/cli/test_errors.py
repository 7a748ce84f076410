# ruff: noqa: F811 - `stack` is the pytest fixture imported from tests.setup.stack
"""No command prints a traceback for an expected failure: each answers with the cause, a line
starting ``fix:``, and the exit code of its kind (cli/main.py `EXIT_CODES`); ``--debug`` adds the
traceback. Run against both emulators with one thing broken at a time, as a newcomer breaks them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import EXIT_CODES, main
from tests.setup.stack import RULES, Stack, stack  # noqa: F401 - the fixture

Capsys = pytest.CaptureFixture[str]
ROOT = Path(__file__).resolve().parents[2]
CLOSED_PORT = "http://127.0.0.1:9"  # nothing listens there: connection refused at once
UNREACHABLE_TABLE = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey="
                     "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
                     f"TableEndpoint={CLOSED_PORT}/devstoreaccount1;")

# (what is broken, the environment that breaks it, the kind of failure it is)
BROKEN = {
    "a required setting missing": ({"SENTRY_ORG": ""}, "config"),
    "the sync rules file missing": ({"SYNC_CONFIG_PATH": "no-such-dir/sync.toml"}, "config"),
    "a typo in the sync rules": ({"@rules": "severty = 1\n"}, "config"),
    "an ADO project URL instead of the organization's": ({"ADO_ORG_URL": "https://dev.azure.com/contoso/Shop"},
                                                         "config"),
    "a wrong Sentry token": ({"SENTRY_TOKEN": "wrong-token"}, "auth"),
    "a wrong ADO PAT": ({"ADO_PAT": "wrong-token"}, "auth"),
    "ADO unreachable": ({"ADO_ORG_URL": f"{CLOSED_PORT}/contoso"}, "network"),
    "Sentry unreachable": ({"SENTRY_BASE_URL": CLOSED_PORT}, "network"),
    "the table store unreachable": ({"LINK_STORE": "table", "AzureWebJobsStorage": UNREACHABLE_TABLE}, "store"),
    "the SQLite store unwritable": ({"SQLITE_PATH": "/proc/no-such-dir/links.sqlite"}, "store"),
}
# What each command needs to reach, so that breaking it is a failure for that command.
USES = {
    "reconcile": {"config", "auth:sentry", "auth:ado", "network:sentry", "network:ado", "store"},
    "reconcile --dry-run": {"config", "auth:sentry", "store"},
    "subscribe": {"config", "auth:ado", "network:ado"},
    "links list": {"config", "store"},
    "import-links --dry-run": {"config", "auth:sentry", "network:sentry"},
}


def _needs(command: str, broken: str, kind: str) -> bool:
    side = "sentry" if "Sentry" in broken else "ado" if "ADO" in broken else ""
    uses = USES[command]
    return kind in uses or f"{kind}:{side}" in uses


@pytest.fixture(autouse=True)
def _auto_create(stack: Stack) -> None:
    """Reconcile then looks for new Sentry issues too: it calls Sentry even with no link yet."""
    stack.rules(RULES.replace('ado_project = "Shop"', 'ado_project = "Shop"\nauto_create = { enabled = true }'))


def _break(stack: Stack, env: dict[str, str]) -> None:
    for key, value in env.items():
        if key == "@rules":
            stack.rules(value)
        elif value:
            stack.env(**{key: value})
        else:
            stack.monkeypatch.delenv(key, raising=False)


def _argv(command: str, stack: Stack) -> list[str]:
    argv = command.split()
    if argv[0] == "subscribe":
        argv += ["--url", stack.hook_url]
    return argv


@pytest.mark.parametrize(("command", "broken"), [(c, b) for c in sorted(USES) for b in sorted(BROKEN)
                                                 if _needs(c, b, BROKEN[b][1])])
def test_an_expected_failure_is_one_line_with_its_fix_and_exit_code(stack: Stack, capsys: Capsys, command: str,
                                                                     broken: str) -> None:
    env, kind = BROKEN[broken]
    stack.env(APP_BASE_URL=stack.receiver_url)  # reconcile also repairs the ADO hooks: it calls ADO
    _break(stack, env)
    code = main(_argv(command, stack))
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text, text
    assert code == EXIT_CODES[kind], text
    assert "error: " in out.err and "\n  fix: " in out.err, text
    assert "wrong-token" not in text


def test_check_reports_an_expected_failure_as_a_verdict_not_a_traceback(stack: Stack, capsys: Capsys) -> None:
    for broken in ("a wrong Sentry token", "a wrong ADO PAT", "ADO unreachable", "Sentry unreachable",
                   "an ADO project URL instead of the organization's"):
        env, _ = BROKEN[broken]
        with pytest.MonkeyPatch.context() as mp:
            stack.monkeypatch = mp
            _break(stack, env)
            code = main(["check"])
        out = capsys.readouterr()
        assert "Traceback" not in out.out + out.err, broken
        assert code in (1, 2) and "fix: " in out.out + out.err, (broken, out.out, out.err)


@pytest.mark.parametrize("argv", [
    ["plan", "sentry", "no-such-body.json"], ["plan", "ado", "-"], ["manifest", "--url", "not a url"],
    ["subscribe", "--url", "ftp://nowhere"], ["serve", "--port", "0"], ["links", "find", "--issue", "1"],
])
def test_bad_input_to_any_command_is_named_without_a_traceback(stack: Stack, capsys: Capsys, monkeypatch,
                                                                argv: list[str]) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("{not json"))
    stack.monkeypatch.delenv("SENTRY_CLIENT_SECRET")  # serve refuses to start without it
    code = main(argv)
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert code in (1, 2) and out.err.strip(), (code, out.out, out.err)


def test_debug_adds_the_traceback(stack: Stack, capsys: Capsys) -> None:
    stack.env(SENTRY_TOKEN="wrong-token")
    assert main(["reconcile", "--debug"]) == EXIT_CODES["auth"]
    err = capsys.readouterr().err
    assert "Traceback" in err and "SentryAuthError" in err and "fix: SENTRY_TOKEN was refused" in err


def test_a_settings_file_that_does_not_exist_is_an_error_naming_it(stack: Stack, capsys: Capsys) -> None:
    assert main(["reconcile", "--settings", "nowhere.json"]) == 2
    assert "--settings nowhere.json: no such file" in capsys.readouterr().err


def test_every_command_reads_local_settings_json(stack: Stack, capsys: Capsys, tmp_path: Path) -> None:
    """Environment first, then the file: a setting missing from the environment comes from it."""
    import os

    token = os.environ["SENTRY_TOKEN"]
    stack.monkeypatch.delenv("SENTRY_TOKEN")
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps({"IsEncrypted": False, "Values": {"SENTRY_TOKEN": token, "SENTRY_ORG": "other"}}))
    assert main(["reconcile", "--settings", str(path)]) == 0, capsys.readouterr()
    assert "SENTRY_TOKEN" not in os.environ  # restored after the command


def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    """Through the console entry point, in its own process, as a person runs it."""
    env = {"PATH": "/usr/bin:/bin", "SENTRY_ORG": "acme", "SENTRY_TOKEN": "t", "SENTRY_CLIENT_SECRET": "c",
           "ADO_ORG_URL": "https://dev.azure.com/contoso/Shop", "ADO_PAT": "p", "ADO_HOOK_SECRET": "h" * 32}
    proc = subprocess.run([sys.executable, "-m", "cli.main", "reconcile"], cwd=tmp_path, env={
        **env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "ADO_ORG_URL: expected the organization URL" in proc.stderr
    version = subprocess.run([sys.executable, "-m", "cli.main", "--version"], cwd=ROOT, capture_output=True,
                             text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("sentry-ado ")
