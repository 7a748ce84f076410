"""`sentry-ado sandbox` gives a newcomer everything: every setting the app needs, a seeded world,
and rules that pass `sentry-ado check` against it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.commands.sandbox import local_settings, prepare
from cli.main import main
from sandbox.stack import sandbox_stack
from shared.config import SETTING_NAMES

NEEDED = ("SENTRY_BASE_URL", "SENTRY_ORG", "SENTRY_TOKEN", "SENTRY_CLIENT_SECRET", "SENTRY_INSTALLATION_UUID",
          "ADO_ORG_URL", "ADO_AUTH", "ADO_PAT", "ADO_HOOK_SECRET", "LINK_STORE", "SQLITE_PATH", "SYNC_CONFIG_PATH")


def test_the_sandbox_settings_pass_check(tmp_path: Path, capsys) -> None:
    with sandbox_stack(workdir=str(tmp_path), with_host=False) as stack, pytest.MonkeyPatch.context() as mp:
        settings = prepare(stack, "http://127.0.0.1:7071", tmp_path)
        assert set(NEEDED) <= set(settings) and set(settings) <= set(SETTING_NAMES)
        assert len(stack.sentry.world.org.issues) >= 3  # seeded
        path = tmp_path / "local.settings.json"
        path.write_text(local_settings(settings), encoding="utf-8")
        for key in SETTING_NAMES:  # only the file speaks (restored before the stack restores its own)
            mp.delenv(key, raising=False)
        code = main(["check", "--settings", str(path)])
        out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[-1].startswith("all ")
