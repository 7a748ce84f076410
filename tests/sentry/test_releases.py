"""Release and deploy requests: Sentry's naming rules enforced locally, retries by idempotency."""

from __future__ import annotations

import pytest

from shared.sentry import release_requests as rel
from shared.sentry.client import SentryClient
from tests.ado.scripted_server import FakeTime, reply, serve


def test_release_routes_quote_the_version() -> None:
    req = rel.create_release("acme", "app@1.2.3+build 5", ["web", 42], ref="abc",
                             commits=[{"id": "a" * 40, "repository": "org/repo"}])
    assert req.path == "/api/0/organizations/acme/releases/"
    assert req.body["projects"] == ["web", "42"] and req.body["ref"] == "abc"
    upd = rel.update_release("acme", "app@1.2.3+build 5", {"refs": []})
    assert upd.path == "/api/0/organizations/acme/releases/app%401.2.3%2Bbuild%205/"
    deploy = rel.create_deploy("acme", "v1", "production", url="https://dev.azure.com/o/p/_build/results?buildId=1")
    assert deploy.path == "/api/0/organizations/acme/releases/v1/deploys/"
    assert deploy.body == {"environment": "production", "url": "https://dev.azure.com/o/p/_build/results?buildId=1"}


@pytest.mark.parametrize("version", ["", "latest", "..", "a/b", "line\nbreak", "x" * 201])
def test_forbidden_versions_are_named(version: str) -> None:
    with pytest.raises(ValueError, match="release version"):
        rel.list_release_commits("acme", version)


def test_bad_deploy_and_release_inputs() -> None:
    with pytest.raises(ValueError, match="environment"):
        rel.create_deploy("acme", "v1", "prod/eu")
    with pytest.raises(ValueError, match="projects"):
        rel.create_release("acme", "v1", [])
    with pytest.raises(ValueError, match=r"commits\[0\]"):
        rel.create_release("acme", "v1", ["web"], commits=[{"message": "no sha"}])
    with pytest.raises(ValueError, match="owner"):
        rel.update_release("acme", "v1", {"owner": "x"})


def test_release_create_is_replayed_but_deploy_is_not() -> None:
    fake = FakeTime()
    with serve(reply({}, 503), reply({"version": "v1"}, 208)) as (app, url):
        client = SentryClient(url, "tok", "acme", sleep=fake.sleep, clock=fake.clock)
        assert client.create_release("v1", ["web"])["version"] == "v1"
    assert len(app.seen) == 2
    with serve(reply({}, 503), reply({"id": "1"})) as (app, url), pytest.raises(Exception, match="503"):
        SentryClient(url, "tok", "acme", sleep=fake.sleep, clock=fake.clock).create_deploy("v1", "production")
    assert len(app.seen) == 1
