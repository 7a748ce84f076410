"""A user clones this repository alone: no tracked file may name a path outside it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIBLING = ".." + "/shared"  # spelt in two parts so this file does not name it
ABSOLUTE_PATH_LITERAL = re.compile(r"""Path\(\s*r?["']/(?!tmp\b)""")
# Absolute paths in any text: flagged when they exist on this machine outside the clone (a folder
# beside it, a home directory), so URL paths such as /api/0/ or /_apis/wit never count.
PATH_LIKE = re.compile(r"(?<![\w.:/~-])/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
SYSTEM = ("/tmp/", "/dev/", "/proc/", "/sys/", "/usr/", "/bin/", "/etc/", "/opt/", "/var/", "/lib/")


def _tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    paths = [ROOT / n for n in names.decode().split("\0") if n]
    return [p for p in paths if p.is_file() and p.suffix not in {".png", ".ico"}]


def _outside_paths(text: str) -> set[str]:
    found = set()
    for match in PATH_LIKE.finditer(text):
        candidate = match.group(0)
        if candidate.startswith(SYSTEM) or not Path(candidate).exists():
            continue
        if not Path(candidate).resolve().is_relative_to(ROOT):
            found.add(candidate)
    return found


def test_no_tracked_file_names_a_path_outside_the_repository() -> None:
    offenders = []
    for path in _tracked_text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        named = ({SIBLING} if SIBLING in text else set()) | _outside_paths(text)
        if path.suffix == ".py" and ABSOLUTE_PATH_LITERAL.search(text):
            named.add("an absolute Path literal")
        offenders += [f"{path.relative_to(ROOT)}: {name}" for name in sorted(named)]
    assert offenders == []


def test_every_copied_folder_says_where_it_came_from() -> None:
    for folder in (ROOT / "sandbox" / "specs" / "azure-devops", ROOT / "sandbox" / "specs" / "sentry",
                   ROOT / "tests" / "fixtures" / "sentry-example-app"):
        source = (folder / "SOURCE.md").read_text(encoding="utf-8")
        assert "github.com/" in source and re.search(r"\b[0-9a-f]{40}\b", source), folder
        assert "License" in source, folder
