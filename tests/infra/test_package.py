"""The deployment package (the tree minus what `.funcignore` names) holds the app and nothing a
developer runs: no command line, emulator, spec, benchmark or test file."""

from __future__ import annotations

import os
from fnmatch import fnmatch
from pathlib import Path

from tests.infra.bicep_settings import REPO

TOOLS = ("cli", "sandbox", "bench", "tests", "specs", "docs", "test-artifacts")


def _patterns() -> list[str]:
    lines = (REPO / ".funcignore").read_text(encoding="utf-8").splitlines()
    return [line.strip().strip("/") for line in lines if line.strip() and not line.startswith("#")]


def _ignored(relative: Path, patterns: list[str]) -> bool:
    """gitignore's rule for the patterns .funcignore uses: one without a slash matches any path part."""
    return any(fnmatch(str(relative), p) if "/" in p else any(fnmatch(part, p) for part in relative.parts)
               for p in patterns)


def deployed_files() -> list[Path]:
    patterns, files = _patterns(), []
    for folder, dirs, names in os.walk(REPO):
        here = Path(folder).relative_to(REPO)
        dirs[:] = [d for d in dirs if not _ignored(here / d, patterns)]  # an ignored folder is never entered
        files += [here / n for n in names if not _ignored(here / n, patterns)]
    return files


def test_the_package_holds_the_app() -> None:
    files = {str(p) for p in deployed_files()}
    for needed in ("function_app.py", "host.json", "requirements.txt", "functions/sync.py", "shared/planner.py"):
        assert needed in files


def test_the_package_holds_no_developer_tool_spec_or_test() -> None:
    tools = [p for p in deployed_files() if set(p.parts) & set(TOOLS) or p.name.startswith("test_")]
    assert tools == []
