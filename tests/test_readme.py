"""README's benchmark commands are the ones `make bench` runs, and the other way round."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_names_the_benchmarks_make_bench_runs() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\nbench:", 1)[1].split("\n\n", 1)[0]
    run = re.findall(r"\$\(PY\) (bench/\S+\.py(?: --\S+ \S+)*)", recipe)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Benchmarks", 1)[1].split("\n## ", 1)[0]
    assert run and all(f"`{command}`" in section for command in run), run
    tabled = set(re.findall(r"\| `\.venv/bin/python (bench/\S+\.py)", section))
    assert tabled == {command.split()[0] for command in run}


def test_readme_tells_the_demo_steps_the_demo_plays() -> None:
    """README's `make demo` story, `sentry-ado demo`'s docstring and the steps it prints agree: the
    same titles (README, the code) and the same numbering (the docstring's items)."""
    from cli.commands import demo

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    story = readme.split("`make demo` prints a story", 1)[1].split("```", 2)[1]
    told = re.findall(r"^(\d+)\. (.+)$", story, re.MULTILINE)
    source = (ROOT / "cli" / "commands" / "demo.py").read_text(encoding="utf-8")
    played = re.findall(r'story\.step\("([^"]+)"\)', source)
    assert [title for _, title in told] == played
    assert [int(n) for n, _ in told] == list(range(1, len(played) + 1))
    documented = re.findall(r"^(\d+)\. ", demo.__doc__ or "", re.MULTILINE)
    assert [int(n) for n in documented] == list(range(1, len(played) + 1))
