"""The one error every configuration problem becomes, in its own module so that config.py and the
parsers it delegates to (shared/releases/rules.py) both raise it without importing each other.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """Raised with every problem found; ``problems`` holds one line per bad key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"- {p}" for p in problems))


def unknown_key(where: str, key: str, allowed: set[str] | frozenset[str]) -> str:
    """The problem line for a key the parser does not know, with the nearest known key when a
    typo is likely (``severty`` -> ``severity``)."""
    import difflib

    name = f"{where}.{key}" if where else key
    close = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{name}: unknown key; {hint}(expected one of {', '.join(sorted(allowed))})"
