"""Store markers for commit tracking, and the decision of what an existing claim means. Pure.

Two kinds (``LinkStore`` markers):
- ``release-head``, key ``<ADO repository id>|<Sentry environment>``: the commit last deployed there,
  the lower bound of the next deploy's commit range.
- ``deploy``, key ``Deployment.key``: claimed (insert-if-absent) before any work, ``recorded`` once
  Sentry has the deploy. A claim that is ``failed`` or older than the lease belongs to a worker that
  died; the next delivery takes it over (one taker per generation, through ``deploy-takeover``) and,
  before posting, asks Sentry whether the dead worker's deploy got through. So a crash never loses
  the deploy and never doubles it.
"""

from __future__ import annotations

from typing import Any, Literal

HEAD_KIND = "release-head"
DEPLOY_KIND = "deploy"
TAKEOVER_KIND = "deploy-takeover"
LEASE_S = 15 * 60  # longer than one deployment's work, shorter than the queue's retry horizon

Verdict = Literal["recorded", "busy", "stale"]


def head_key(repo_id: str, environment: str) -> str:
    return f"{repo_id.lower()}|{environment}"


def claim(now: float, generation: int = 0) -> dict[str, Any]:
    return {"state": "claimed", "at": now, "generation": generation}


def failed(previous: dict[str, Any], now: float, error: str) -> dict[str, Any]:
    return {**previous, "state": "failed", "at": now, "error": error[:300]}


def recorded(previous: dict[str, Any], now: float, version: str, deploy_id: str | None) -> dict[str, Any]:
    return {**previous, "state": "recorded", "at": now, "version": version, "deploy_id": deploy_id}


def claim_verdict(marker: dict[str, Any] | None, now: float, lease_s: float = LEASE_S) -> Verdict:
    """What a lost ``claim_marker`` race means: done already, someone is on it, or its owner died.
    A marker we cannot read (None after losing the insert, or garbled) counts as stale."""
    if not isinstance(marker, dict):
        return "stale"
    state = marker.get("state")
    if state == "recorded":
        return "recorded"
    at = marker.get("at")
    if state == "claimed" and isinstance(at, (int, float)) and now - at < lease_s:
        return "busy"
    return "stale"


def next_generation(marker: dict[str, Any] | None) -> int:
    generation = marker.get("generation") if isinstance(marker, dict) else None
    return generation + 1 if isinstance(generation, int) and generation >= 0 else 1
