"""The one error every configuration problem becomes, in its own module so that config.py and the
parsers it delegates to (shared/releases/rules.py) both raise it without importing each other.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """Raised with every problem found; ``problems`` holds one line per bad key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"- {p}" for p in problems))
