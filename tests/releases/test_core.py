"""Pure core: events to deployments, builds to commits, ranges, payloads, claim verdicts, explain."""

from __future__ import annotations

import pytest

from shared.releases import markers
from shared.releases.commit_range import decide_range
from shared.releases.deployment import Deployment, DeploymentEventError, NoRelease, parse_deployment
from shared.releases.explain import explain
from shared.releases.payloads import change_type, chunked, deploy_body, patch_set, release_body, sentry_commit
from shared.releases.rules import parse_release_rules
from shared.releases.source import Shipped, SourceError, primary_build_id, shipped
from tests.releases.events import PROJECT_ID, WEB, classic_event_2022, classic_event_2025, run_event, stage_event

RULES = parse_release_rules({
    "environments": {"deploy_prod": "production", "Production": "production", "Shop CD/Staging": "staging",
                     "shop-deploy": "production"},
    "repositories": [{"ado_repository": "shop-web", "sentry_repository": "Shop Web", "sentry_projects": ["backend"]}]})


def test_successful_stage_is_a_deployment_with_run_facts() -> None:
    d = parse_deployment(stage_event(), RULES)
    assert isinstance(d, Deployment)
    assert (d.kind, d.run_id, d.ado_stage, d.environment, d.project) == ("stage", 42, "deploy_prod", "production",
                                                                       PROJECT_ID)
    assert d.url == WEB and d.finished == "2026-01-02T10:05:00Z" and d.started is None
    assert d.key == "run:42:stage:deploy_prod"


@pytest.mark.parametrize(("event", "reason"), [
    (stage_event(result="failed"), "stage 'deploy_prod' of run 42 failed, not succeeded"),
    (stage_event(state="running", result=""), "is running, not completed"),
    (stage_event(stage="deploy_dev"), "'shop-deploy/deploy_dev' or 'deploy_dev' is not mapped"),
    (run_event(result="canceled"), "run 42 of pipeline 'shop-deploy' canceled"),
    (run_event(state="inProgress", result=None), "is inprogress, not completed"),
    (classic_event_2022(status="rejected"), "is rejected, not succeeded"),
    (classic_event_2022(status="partiallySucceeded"), "is partiallysucceeded, not succeeded"),
    (classic_event_2022(env="QA"), "classic environment 'QA' is not mapped"),
])
def test_skips_say_why(event: dict, reason: str) -> None:
    skipped = parse_deployment(event, RULES)
    assert isinstance(skipped, NoRelease) and reason in skipped.reason


def test_whole_run_event_maps_by_pipeline_name_and_keeps_run_times() -> None:
    d = parse_deployment(run_event(), RULES)
    assert isinstance(d, Deployment) and d.kind == "run" and d.environment == "production"
    assert (d.started, d.finished) == ("2026-01-02T10:00:00Z", "2026-01-02T10:04:00Z")
    assert d.key == "run:42:run:shop-deploy"


def test_classic_event_both_layouts() -> None:
    old = parse_deployment(classic_event_2022(), RULES)
    assert isinstance(old, Deployment)
    assert (old.kind, old.release_id, old.environment, old.project) == ("classic", 9, "production", PROJECT_ID)
    assert old.key == "release:9:5:2" and old.url.endswith("releaseId=9")
    new = parse_deployment(classic_event_2025("Staging"), RULES)
    assert isinstance(new, Deployment) and new.environment == "staging"  # definition-qualified key
    assert (new.started, new.finished, new.key) == ("2026-01-02T09:58:00Z", "2026-01-02T10:04:30Z", "release:9:5:77")


@pytest.mark.parametrize(("event", "message"), [
    ({"eventType": "git.push", "resource": {}}, "'git.push' is not a deployment event"),
    ({"eventType": "ms.vss-pipelines.stage-state-changed-event", "resource": None}, "resourceDetailsToSend"),
    ({**stage_event(), "resource": {"run": {"id": 1}, "pipeline": {}}}, "resource.stage is missing"),
    ({**stage_event(), "resource": {**stage_event()["resource"], "run": {"id": "x"}}}, "resource.run.id must be"),
    ({**stage_event(), "resourceContainers": {}}, "resourceContainers.project.id is missing"),
    ({**classic_event_2025(), "resource": {"deployment": {"status": "succeeded"}}}, "environment.name"),
    ([], "must be a JSON object"),
])
def test_malformed_events_name_the_missing_field(event: object, message: str) -> None:
    with pytest.raises(DeploymentEventError, match=message):
        parse_deployment(event, RULES)


BUILD = {"id": 42, "buildNumber": "20260102.3", "sourceVersion": "ABCDEF0123", "sourceBranch": "refs/heads/main",
         "reason": "individualCI", "startTime": "2026-01-02T09:59:00Z",
         "repository": {"id": "R-GUID", "type": "TfsGit", "name": "shop-web"}}


def test_build_gives_repository_commit_and_rule() -> None:
    s = shipped(BUILD, RULES)
    assert isinstance(s, Shipped) and (s.sha, s.branch, s.repo_id, s.build_number) == (
        "abcdef0123", "main", "R-GUID", "20260102.3")
    assert s.rule.sentry_repository == "Shop Web"


@pytest.mark.parametrize(("change", "reason"), [
    ({"reason": "pullRequest"}, "pull-request build"),
    ({"repository": {"id": "x", "type": "GitHub", "name": "shop-web"}}, "'GitHub' repository"),
    ({"repository": {"id": "x", "type": "TfsGit", "name": "api"}}, "'api' (x) is not in releases.repositories"),
])
def test_builds_that_are_not_released(change: dict, reason: str) -> None:
    skipped = shipped({**BUILD, **change}, RULES)
    assert isinstance(skipped, NoRelease) and reason in skipped.reason


def test_build_without_source_version_is_an_error() -> None:
    with pytest.raises(SourceError, match="sourceVersion missing"):
        shipped({**BUILD, "sourceVersion": None}, RULES)


def test_classic_release_primary_build_artifact() -> None:
    art = {"type": "Build", "alias": "_shop", "definitionReference": {"version": {"id": "42"}}}
    assert primary_build_id({"artifacts": [{"type": "Git"}, art]}) == 42
    two = [{**art, "isPrimary": False}, {**art, "isPrimary": True, "definitionReference": {"version": {"id": "7"}}}]
    assert primary_build_id({"artifacts": two}) == 7
    with pytest.raises(SourceError, match="no primary Build artifact"):
        primary_build_id({"id": 9, "artifacts": [art, art]})


def test_range_decisions() -> None:
    first = decide_range(None, "b" * 40, 20, 1000)
    assert (first.old, first.limit, first.reason) == (None, 20, "first-deploy")
    span = decide_range("a" * 40, "b" * 40, 20, 1000)
    assert (span.old, span.new, span.limit, span.reason, span.empty) == ("a" * 40, "b" * 40, 1000, "range", False)
    again = decide_range("B" * 40, "b" * 40, 20, 1000)
    assert again.empty and "already the last deployed commit" in again.describe()
    with pytest.raises(ValueError, match="deployed commit"):
        decide_range(None, "", 20, 1000)


@pytest.mark.parametrize(("value", "letter"), [("add", "A"), ("edit", "M"), ("delete", "D"), ("rename", "M"),
                                               ("add, edit, encoding", "A"), ("delete, sourceRename", "D"),
                                               ("edit, rename", "M")])
def test_change_types(value: str, letter: str) -> None:
    assert change_type(value) == letter


def test_patch_set_keeps_files_once_and_drops_folders() -> None:
    changes = [{"item": {"gitObjectType": "tree", "path": "/src", "isFolder": True}, "changeType": "add"},
               {"item": {"gitObjectType": "blob", "path": "/src/a.py"}, "changeType": "add"},
               {"item": {"gitObjectType": "blob", "path": "/src/a.py"}, "changeType": "edit"},
               {"item": {"path": "/old.py"}, "changeType": "delete"},
               {"item": {"path": "/x" * 300}, "changeType": "edit"}]
    assert patch_set(changes) == [{"path": "/src/a.py", "type": "M"}, {"path": "/old.py", "type": "D"}]


def test_sentry_commit_carries_full_message_author_and_files() -> None:
    commit = {"commitId": "c" * 40, "comment": "Fix login\n\nFixes BACKEND-1",
              "author": {"name": "Ava", "email": "ava@contoso.com", "date": "2026-01-01T00:00:00Z"}}
    out = sentry_commit(commit, [{"item": {"path": "/a"}, "changeType": "add"}], "Shop Web")
    assert out == {"id": "c" * 40, "repository": "Shop Web", "message": "Fix login\n\nFixes BACKEND-1",
                   "author_name": "Ava", "author_email": "ava@contoso.com", "timestamp": "2026-01-01T00:00:00Z",
                   "patch_set": [{"path": "/a", "type": "A"}]}
    with pytest.raises(ValueError, match="no commitId"):
        sentry_commit({"comment": "x"}, [], "r")


def test_chunked_splits_in_order() -> None:
    assert [list(c) for c in chunked(list(range(250)), 100)] == [list(range(100)), list(range(100, 200)),
                                                                  list(range(200, 250))]
    with pytest.raises(ValueError, match="chunk size"):
        list(chunked([1], 0))


def test_release_and_deploy_bodies() -> None:
    commits = [{"id": str(i)} for i in range(250)]
    body = release_body("shop@1", ("backend",), commits, "b" * 40, WEB)
    assert body["version"] == "shop@1" and len(body["commits"]) == 250 and body["ref"] == "b" * 40
    assert "commits" not in release_body("shop@1", ("backend",), [], "b" * 40, None)
    d = parse_deployment(stage_event(), RULES)
    assert isinstance(d, Deployment)
    assert deploy_body(d, "20260102.3", "2026-01-02T09:59:00Z") == {
        "environment": "production", "name": "shop-deploy 20260102.3 deploy_prod", "url": WEB,
        "date_started": "2026-01-02T09:59:00Z", "date_finished": "2026-01-02T10:05:00Z"}
    long = Deployment("stage", "p", "production", "s" * 80, "pipe", "succeeded", None, None, None, 1, "1")
    assert len(deploy_body(long, "1", None)["name"]) == 64


def test_claim_verdicts() -> None:
    now = 10_000.0
    assert markers.claim_verdict({"state": "recorded", "at": 0}, now) == "recorded"
    assert markers.claim_verdict(markers.claim(now - 60), now) == "busy"
    assert markers.claim_verdict(markers.claim(now - markers.LEASE_S - 1), now) == "stale"
    assert markers.claim_verdict(markers.failed(markers.claim(now), now, "boom"), now) == "stale"
    assert markers.claim_verdict(None, now) == "stale"
    assert markers.next_generation(markers.claim(now, 3)) == 4 and markers.next_generation(None) == 1


def test_explain_says_what_or_why() -> None:
    plan = explain(stage_event(), RULES)
    assert plan["action"] == "release-and-deploy" and plan["environment"] == "production"
    assert plan["deduplication_key"] == "run:42:stage:deploy_prod"
    assert any("_apis/build/builds/42" in s for s in plan["steps"])
    assert explain(stage_event(result="failed"), RULES)["action"] == "skip"
    rejected = explain({"eventType": "nope"}, RULES)
    assert rejected["action"] == "reject" and "not a deployment event" in rejected["reason"]
    classic = explain(classic_event_2022(), RULES)
    assert "release/releases/9" in classic["steps"][0]
