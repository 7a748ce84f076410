"""Resolving an issue in a release, and when a new event is a regression (pure).

Semantics follow getsentry/sentry: the status details validator
(``src/sentry/api/helpers/group_index/validators/status_details.py``), the group update helper and
``src/sentry/integrations/tasks/sync_status_inbound.py`` (what a resolve records), and
``GroupResolution.has_resolution`` (``src/sentry/models/groupresolution.py``, what is a regression):

- ``inNextRelease`` and ``inRelease: "latest"`` need a release of the issue's project; without one
  the update is refused (400, "No release data present in the system ..."). A named ``inRelease``
  must be a release of the project.
- Resolving in the next release remembers the issue's current release (``current_release_version``):
  for a project that follows semantic versioning its greatest release, otherwise the last release
  the issue was seen in. For date-ordered projects whose next release already exists, the issue is
  resolved in that release instead (shown as ``inRelease``).
- An event on a resolved issue is a regression unless the resolution covers its release: an event
  without a release is covered; with ``current_release_version`` an event from that release or an
  older one is covered; resolved in release R, an event from a release older than R is covered (R
  itself and later ones regress). A plain resolve covers nothing.
- Releases are ordered by semantic version when the project's releases and the one compared all
  follow it (``follows_semver_versioning_scheme``: its last 10 releases), else by
  ``COALESCE(date_released, date_added)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

NO_RELEASE = "No release data present in the system to form a basis for 'Next Release'"
UNKNOWN_RELEASE = "Unable to find a release with the given version."
_SEMVER = re.compile(r"^(?:[^@\s]+@)?v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
SEMVER_WINDOW = 10  # releases a project's versioning scheme is judged on


class ReleaseProblem(ValueError):
    """The update names no usable release; ``errors`` is the 400 body Sentry sends."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(str(errors))
        self.errors = errors


@dataclass(frozen=True)
class Resolution:
    """A ``GroupResolution``: ``in_next_release`` or ``in_release`` of ``release``."""

    kind: str
    release: str
    current_release_version: str | None = None


def _released_at(release: Any) -> datetime:
    return datetime.fromisoformat((release.date_released or release.date_created).replace("Z", "+00:00"))


def project_releases(releases: Mapping[str, Any], project_slug: str) -> list[Any]:
    """The project's releases, oldest first (by COALESCE(date_released, date_added), then creation)."""
    mine = [r for r in releases.values() if project_slug in r.project_slugs]
    return sorted(mine, key=_released_at)


def _semver(version: str) -> tuple[int, int, int, int, str] | None:
    match = _SEMVER.match(version)
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    return int(major), int(minor), int(patch), 0 if pre else 1, pre or ""


def follows_semver(ordered: Sequence[Any], version: str | None = None) -> bool:
    recent = ordered[-SEMVER_WINDOW:]
    return bool(recent) and all(_semver(r.version) for r in recent) and (version is None or bool(_semver(version)))


def newer(a: str, b: str, ordered: Sequence[Any], semver: bool) -> int:
    """1 when release `a` is newer than `b`, 0 when the same, -1 when older (unknown ones are oldest)."""
    if a == b:
        return 0
    if semver:
        ka, kb = _semver(a), _semver(b)
        if ka is not None and kb is not None:
            return (ka > kb) - (ka < kb)
    position = {r.version: i for i, r in enumerate(ordered)}
    pa, pb = position.get(a, -1), position.get(b, -1)
    return (pa > pb) - (pa < pb)


def resolve_in_release(details: Mapping[str, Any], status: str, releases: Mapping[str, Any], project_slug: str,
                       issue_last_release: str | None) -> tuple[dict[str, Any], Resolution] | None:
    """The status details and resolution a release-based resolve records; None for a plain resolve."""
    next_release = status == "resolvedInNextRelease" or bool(details.get("inNextRelease"))
    named = details.get("inRelease")
    if not next_release and not named:
        return None
    ordered = project_releases(releases, project_slug)
    field = "inNextRelease" if next_release else "inRelease"
    if not ordered:
        if named and named != "latest":
            raise ReleaseProblem({"statusDetails": {"inRelease": [UNKNOWN_RELEASE]}})
        raise ReleaseProblem({"statusDetails": {field: [NO_RELEASE]}})
    latest = ordered[-1]
    if not next_release:
        if named == "latest":
            return {"inRelease": latest.version}, Resolution("in_release", latest.version)
        if not any(r.version == named for r in ordered):
            raise ReleaseProblem({"statusDetails": {"inRelease": [UNKNOWN_RELEASE]}})
        return {"inRelease": named}, Resolution("in_release", str(named))
    semver = follows_semver(ordered, latest.version)
    if semver:
        current = max(ordered[-SEMVER_WINDOW:], key=lambda r: _semver(r.version) or (0, 0, 0, 0, "")).version
        return {"inNextRelease": True}, Resolution("in_next_release", latest.version, current)
    current = issue_last_release
    if current is not None:
        later = [r for r in ordered if newer(r.version, current, ordered, False) > 0]
        if later:  # the next release is already known: resolved in it
            return {"inRelease": later[0].version}, Resolution("in_release", later[0].version, current)
    return {"inNextRelease": True}, Resolution("in_next_release", latest.version, current)


def is_regression(resolution: Resolution | None, release: str | None, releases: Mapping[str, Any],
                  project_slug: str) -> bool:
    """Whether an event from `release` on an issue resolved with `resolution` regresses it."""
    if resolution is None:
        return True
    if release is None:
        return False
    ordered = project_releases(releases, project_slug)
    semver = follows_semver(ordered, release)
    if resolution.current_release_version:
        return newer(release, resolution.current_release_version, ordered, semver) > 0
    if resolution.kind == "in_release":
        return newer(release, resolution.release, ordered, semver) >= 0
    return release != resolution.release
