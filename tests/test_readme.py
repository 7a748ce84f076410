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
