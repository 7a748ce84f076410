"""Sentry's ingestion endpoint for SDK envelopes, as the emulator serves it.

``POST /api/<project_id>/envelope/`` (getsentry/sentry-docs, src/collections/_documentation/
development/sdk-dev/envelopes.md): a body of newline-separated parts, an envelope header (JSON), then
per item a header (JSON, with ``type`` and an optional ``length`` in bytes) and its payload. The body
may be compressed (``Content-Encoding: gzip`` / ``deflate``). The SDK authenticates with its DSN's
public key in ``X-Sentry-Auth: Sentry sentry_key=..., sentry_version=7, ...`` (or ``?sentry_key=``).
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from dataclasses import dataclass, field
from typing import Any


class InvalidEnvelope(ValueError):
    pass


@dataclass
class Envelope:
    project_id: int
    header: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)  # {"type", "header", "payload"}
    raw: bytes = b""  # decompressed, as received: what a test searches for leaked secrets

    def events(self) -> list[dict[str, Any]]:
        return [i["payload"] for i in self.items if i["type"] == "event" and isinstance(i["payload"], dict)]


def sentry_key(auth_header: str, query_key: str | None) -> str | None:
    found = re.search(r"sentry_key=([^,\s]+)", auth_header or "")
    return found.group(1) if found else query_key


def decompress(body: bytes, encoding: str) -> bytes:
    encoding = (encoding or "").strip().lower()
    try:
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    except (OSError, zlib.error) as exc:
        raise InvalidEnvelope(f"body is not valid {encoding}: {exc}") from None
    if encoding not in ("", "identity"):
        raise InvalidEnvelope(f"unsupported Content-Encoding {encoding!r}")
    return body


def parse(project_id: int, raw: bytes) -> Envelope:
    header_line, _, rest = raw.partition(b"\n")
    try:
        envelope = Envelope(project_id, json.loads(header_line or b"{}"), raw=raw)
        while rest.strip():
            item_line, _, rest = rest.partition(b"\n")
            if not item_line.strip():
                continue
            item_header = json.loads(item_line)
            length = item_header.get("length")
            if length is not None:
                payload, rest = rest[:length], rest[length:]
                rest = rest[1:] if rest.startswith(b"\n") else rest
            else:
                payload, _, rest = rest.partition(b"\n")
            try:
                decoded: Any = json.loads(payload)
            except ValueError:
                decoded = payload.decode("utf-8", "replace")
            envelope.items.append({"type": item_header.get("type"), "header": item_header, "payload": decoded})
    except (ValueError, AttributeError) as exc:
        raise InvalidEnvelope(f"not an envelope: {exc}") from None
    return envelope
