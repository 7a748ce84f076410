"""Resolving in a release and the regression rule, as Sentry does them (sandbox/sentry/resolutions.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox.sentry.issue_update import InvalidUpdate
from sandbox.sentry.model import SYSTEM, Issue
from sandbox.sentry.seed import default_organization
from sandbox.sentry.world import World

START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _world() -> World:
    return World(default_organization(), "http://sentry.test")


def _seen(world: World, release: str | None, minutes: int, project: str = "backend") -> tuple[Issue, list[str]]:
    issue, _, notices = world.record_error(project, "KeyError", "'id'", START + timedelta(minutes=minutes),
                                           release=release)
    return issue, [n.action for n in notices if n.resource == "issue"]


def _resolve(world: World, issue: Issue, body: dict) -> Issue:
    return world.update_issue(issue, body, SYSTEM, START + timedelta(minutes=30))[0]


@pytest.mark.parametrize("body", [{"status": "resolved", "statusDetails": {"inNextRelease": True}},
                                  {"status": "resolvedInNextRelease"},
                                  {"status": "resolved", "statusDetails": {"inRelease": "latest"}}])
def test_a_release_resolve_needs_a_release_of_the_project(body: dict) -> None:
    world = _world()
    issue, _ = _seen(world, None, 0)
    _seen(world, "web@2.0.0", 1, project="frontend")  # another project's release does not count
    with pytest.raises(InvalidUpdate, match="No release data present"):
        world.update_issue(issue, body, SYSTEM, START)
    assert world.org.issues[issue.id].status == "unresolved"


def test_an_event_release_is_created_for_its_project() -> None:
    world = _world()
    _seen(world, "backend@1.0.0", 0)
    assert world.org.releases["backend@1.0.0"].project_slugs == ["backend"]


@pytest.mark.parametrize("versions", [("backend@1.0.0", "backend@1.1.0"), ("build-a", "build-b")])
def test_resolved_in_next_release_an_old_release_is_no_regression_a_new_one_is(versions: tuple[str, str]) -> None:
    old, new = versions
    world = _world()
    issue, _ = _seen(world, old, 0)
    resolved = _resolve(world, issue, {"status": "resolved", "statusDetails": {"inNextRelease": True}})
    assert (resolved.status, resolved.status_details) == ("resolved", {"inNextRelease": True})
    assert resolved.resolution.current_release_version == old
    again, sent = _seen(world, old, 40)
    assert (again.status, sent) == ("resolved", [])  # the old release is still out there: not a regression
    again, sent = _seen(world, None, 41)
    assert (again.status, sent) == ("resolved", [])  # no release: assumed older
    again, sent = _seen(world, new, 50)
    assert (again.status, again.substatus) == ("unresolved", "regressed")
    assert again.resolution is None


def test_resolved_in_the_current_release_regresses_in_it_and_later_not_before() -> None:
    world = _world()
    issue, _ = _seen(world, "backend@1.0.0", 0)
    _seen(world, "backend@1.1.0", 1)
    resolved = _resolve(world, issue, {"status": "resolved", "statusDetails": {"inRelease": "latest"}})
    assert resolved.status_details == {"inRelease": "backend@1.1.0"}
    assert _seen(world, "backend@1.0.0", 40)[0].status == "resolved"
    assert _seen(world, "backend@1.1.0", 41)[0].substatus == "regressed"


def test_date_ordered_next_release_already_known_is_resolved_in_it() -> None:
    world = _world()
    issue, _ = _seen(world, "build-a", 0)
    world.record_error("backend", "TypeError", "other", START + timedelta(minutes=1), release="build-b")
    resolved = _resolve(world, issue, {"status": "resolvedInNextRelease"})
    assert resolved.status_details == {"inRelease": "build-b"}
    assert _seen(world, "build-a", 40)[0].status == "resolved"
    assert _seen(world, "build-b", 41)[0].substatus == "regressed"


def test_a_plain_resolve_regresses_on_any_event() -> None:
    world = _world()
    issue, _ = _seen(world, "backend@1.0.0", 0)
    _resolve(world, issue, {"status": "resolved"})
    again, _ = _seen(world, "backend@1.0.0", 40)
    assert (again.status, again.substatus) == ("unresolved", "regressed")


def test_an_unknown_named_release_is_refused() -> None:
    world = _world()
    issue, _ = _seen(world, "backend@1.0.0", 0)
    with pytest.raises(InvalidUpdate, match="Unable to find a release"):
        world.update_issue(issue, {"status": "resolved", "statusDetails": {"inRelease": "9.9.9"}}, SYSTEM, START)
