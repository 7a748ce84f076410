"""Where every command reads its settings: the environment first, then a local.settings.json.

The same order as `func start`: a value already in the environment wins; the file's ``Values``
fill the rest. Without ``--settings`` the file is ``local.settings.json`` in the working directory
when it exists; a file named with ``--settings`` must exist. The environment is restored when the
command returns, so one command's file never leaks into the next (tests call `main` many times).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.config_error import ConfigError

DEFAULT_FILE = Path("local.settings.json")


def read_values(path: Path) -> dict[str, str]:
    """The ``Values`` of a local.settings.json; a broken file is a config error naming it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"--settings {path}: cannot read it ({exc.strerror}); give the path of a "
                           "local.settings.json (copy local.settings.example.json)"]) from None
    except ValueError as exc:
        raise ConfigError([f"{path}: not JSON ({exc})"]) from None
    values = data.get("Values") if isinstance(data, dict) else None
    if not isinstance(values, dict):
        raise ConfigError([f"{path}: expected {{\"Values\": {{\"SETTING\": \"value\", ...}}}} like "
                           "local.settings.example.json"])
    return {str(k): str(v) for k, v in values.items() if not str(k).startswith("FUNCTIONS_") and v is not None}


def settings_file(explicit: str | None) -> Path | None:
    """The file to read: the one named (which must exist), else local.settings.json if present."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError([f"--settings {explicit}: no such file (looked in {Path.cwd()})"])
        return path
    return DEFAULT_FILE if DEFAULT_FILE.is_file() else None


@contextmanager
def applied(explicit: str | None) -> Iterator[Path | None]:
    """Fill the environment from the settings file for the duration of one command (and forget
    any config built before: each command reads its settings afresh, as its own process would)."""
    path = settings_file(explicit)
    saved = dict(os.environ)
    try:
        if path is not None:
            for key, value in read_values(path).items():
                if value.strip():
                    os.environ.setdefault(key, value)
        _forget_cached_config()
        yield path
    finally:
        if path is not None:
            os.environ.clear()
            os.environ.update(saved)
            _forget_cached_config()


def _forget_cached_config() -> None:
    from shared import runtime

    runtime.reset()
