"""One HTTP request to Azure DevOps or Sentry, as plain data.

The planner decides *what* to send and renders it as an ``ApiRequest``; the clients only carry it
to the network (auth, retries, rate limits). Keeping the request pure data lets `sentry-ado plan`
print exactly what would be sent, and lets tests compare requests without a network.

Paths are relative to the service's base URL and start with ``/``: for Azure DevOps the
organization or collection URL (``https://dev.azure.com/{org}`` or an on-prem collection URL), for
Sentry the region or self-hosted base (``https://sentry.io``), so Sentry paths begin ``/api/0/``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    query: Mapping[str, str | Sequence[str]] = field(default_factory=dict)  # a sequence repeats the name
    body: Any = None
    content_type: str = "application/json"

    def target(self) -> str:
        """Path plus query string, as it appears in the request line."""
        return f"{self.path}?{urlencode(self.query, doseq=True)}" if self.query else self.path

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.target(), "body": self.body}
