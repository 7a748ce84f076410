"""handle_deployment against the ADO and Sentry emulators (real loopback HTTP), plus sentry-cli."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sandbox.ado.seed import DEFAULT_TOKEN
from sandbox.ado.testing import HookReceiver, running_ado
from sandbox.core import Faults, RunningServer
from sandbox.sentry.emulator import SentryEmulator, serve
from sandbox.sentry.seed import USER_TOKENS
from shared.ado.auth import PatAuth
from shared.ado.client import AdoClient
from shared.releases import markers
from shared.releases.handler import DeploymentBusy, handle_deployment
from shared.releases.rules import ReleaseRules, parse_release_rules
from shared.sentry.client import SentryClient
from shared.sentry.errors import SentryError
from shared.store.sqlite import SqliteLinkStore
from shared.transport import RetryPolicy

SENTRY_TOKEN = USER_TOKENS["alice@example.com"]
CLI = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "sentry-cli"
RULES = parse_release_rules({
    "version": "{repo}@{short_sha}", "first_deploy_commits": 20,
    "environments": {"deploy_prod": "production", "deploy_qa": "qa"},
    "repositories": [{"ado_repository": "shop-web", "sentry_repository": "Shop Web",
                      "sentry_projects": ["backend"]}]})
FAST = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.02, total_budget_s=5)


class World:
    def __init__(self, ado: Any, sentry: SentryEmulator, sentry_url: str, receiver: HookReceiver,
                 store: SqliteLinkStore) -> None:
        self.ado, self.sentry, self.receiver, self.store = ado, sentry, receiver, store
        self.sentry_url = sentry_url
        self.ado_client = AdoClient(ado.base_url, PatAuth(DEFAULT_TOKEN), policy=FAST)
        self.sentry_client = SentryClient(sentry_url, SENTRY_TOKEN, "acme", policy=FAST)

    def push(self, messages: list[str], changes: list[list[dict[str, str]]] | None = None) -> list[str]:
        """Commits on main; each edits its own file unless ``changes`` says otherwise."""
        files = changes or [[{"changeType": "edit", "path": f"/src/m{i}.py"}] for i in range(len(messages))]
        return self.ado.push_commits("Shop", "shop-web", [
            {"message": m, "author": "Ava Chen <ava@contoso.com>", "changes": c} for m, c in zip(messages, files,
                                                                                              strict=True)])

    def deploy(self, stage: str = "deploy_prod") -> dict[str, Any]:
        """Queue a run of the branch head, finish the stage, and return the delivered hook body."""
        run = self.ado.queue_run("Shop", "shop-web")
        before = len(self.receiver.received)
        self.ado.complete_stage(run, stage)
        self.ado.webhooks.flush()
        [hook] = self.receiver.received[before:]
        return hook.body

    def handle(self, event: dict[str, Any], rules: ReleaseRules = RULES, **kw: Any) -> Any:
        return handle_deployment(event, self.ado_client, self.sentry_client, self.store, rules, **kw)

    def sentry_calls(self, method: str, suffix: str) -> list[dict[str, Any]]:
        return [e for e in self.sentry.journal.entries() if e["method"] == method and e["path"].endswith(suffix)]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    receiver = HookReceiver()
    hook_server = RunningServer(receiver)
    sentry, sentry_server = serve()
    with running_ado() as (ado, _):
        project_id = ado.project("Shop").id
        body = {"publisherId": "pipelines", "eventType": "ms.vss-pipelines.stage-state-changed-event",
                "resourceVersion": "5.1-preview.1", "consumerId": "webHooks", "consumerActionId": "httpRequest",
                "publisherInputs": {"projectId": project_id},
                "consumerInputs": {"url": f"{hook_server.url}/hooks", "resourceDetailsToSend": "all"}}
        client = AdoClient(ado.base_url, PatAuth(DEFAULT_TOKEN))
        client.create_hook_subscription(body)
        yield World(ado, sentry, sentry_server.url, receiver, SqliteLinkStore(tmp_path / "links.db"))
    sentry_server.stop()
    hook_server.stop()


def test_three_commits_become_one_release_with_files_and_one_deploy(world: World) -> None:
    world.push(["initial import"])
    assert world.handle(world.deploy()).status == "released"  # first deploy: the history so far
    issue = world.sentry.new_error("backend", "KeyError", "cart", fingerprint="cart")["issue"]
    shas = world.push(["Add cart", f"Fix cart total\n\nFixes {issue['shortId']}", "Remove legacy cart"],
                      changes=[[{"changeType": "add", "path": "/src/cart.py"}],
                               [{"changeType": "edit", "path": "/src/cart.py"}],
                               [{"changeType": "delete", "path": "/src/legacy.py"}]])
    event = world.deploy()
    outcome = world.handle(event)
    version = f"shop-web@{shas[-1][:12]}"
    assert (outcome.status, outcome.version, outcome.environment, outcome.commits) == (
        "released", version, "production", 3)
    commits = world.sentry_client.list_release_commits(version)
    assert sorted(c["id"] for c in commits) == sorted(shas)
    assert {c["repository"]["name"] for c in commits} == {"Shop Web"}
    assert any(c["message"] == f"Fix cart total\n\nFixes {issue['shortId']}" for c in commits)  # full message
    [posted] = [e["body"] for e in world.sentry_calls("POST", "/releases/") if e["body"]["version"] == version]
    assert {c["id"]: c["patch_set"] for c in posted["commits"]} == {
        shas[0]: [{"path": "/src/cart.py", "type": "A"}], shas[1]: [{"path": "/src/cart.py", "type": "M"}],
        shas[2]: [{"path": "/src/legacy.py", "type": "D"}]}
    assert {c["author_email"] for c in posted["commits"]} == {"ava@contoso.com"}
    resolved = world.sentry_client.get_issue(issue["id"])
    assert (resolved["status"], resolved["statusDetails"]) == ("resolved", {"inRelease": version})
    [deploy] = world.sentry_client.list_deploys(version)
    assert deploy["environment"] == "production" and f"buildId={event['resource']['run']['id']}" in deploy["url"]
    head = markers.head_key(world.ado.repository("Shop", "shop-web").id, "production")
    assert world.store.get_marker(markers.HEAD_KIND, head)["sha"] == shas[-1]


def test_redelivered_event_changes_nothing(world: World) -> None:
    world.push(["one", "two"])
    event = world.deploy()
    first = world.handle(event)
    posts = len(world.sentry_calls("POST", "/releases/")) + len(world.sentry_calls("POST", "/deploys/"))
    again = world.handle(json.loads(json.dumps(event)))
    assert (again.status, again.version) == ("duplicate", first.version)
    assert len(world.sentry_calls("POST", "/releases/")) + len(world.sentry_calls("POST", "/deploys/")) == posts
    assert len(world.sentry_client.list_deploys(first.version)) == 1


def test_retried_run_to_another_environment_keeps_the_release_commits(world: World) -> None:
    """The same commit deployed to qa then production: one release, commits posted once, two deploys."""
    world.push(["one", "two"])
    qa = world.handle(world.deploy("deploy_qa"))
    prod = world.handle(world.deploy("deploy_prod"))
    assert qa.version == prod.version and (qa.commits, prod.commits) == (2, 0)
    with_commits = [e for e in world.sentry_calls("POST", "/releases/") if "commits" in (e["body"] or {})]
    assert len(with_commits) == 1
    assert sorted(d["environment"] for d in world.sentry_client.list_deploys(prod.version)) == ["production", "qa"]


def test_deploy_of_250_commits_carries_all(world: World) -> None:
    world.push(["base"])
    world.handle(world.deploy())
    shas = world.push([f"change {i}" for i in range(250)])
    outcome = world.handle(world.deploy())
    assert outcome.commits == 250
    assert {c["id"] for c in world.sentry_client.list_release_commits(outcome.version)} == set(shas)
    batches = [e for e in world.ado.journal.entries() if e["path"].endswith("/commitsbatch")]
    assert [e["query"].get("$skip") for e in batches[-3:]] == ["0", "100", "200"]


def test_first_deploy_takes_the_configured_number_of_commits(world: World) -> None:
    shas = world.push([f"c{i}" for i in range(8)])
    rules = parse_release_rules({"first_deploy_commits": 5, "environments": {"deploy_prod": "production"},
                                 "repositories": [{"ado_repository": "shop-web", "sentry_repository": "Shop Web",
                                                   "sentry_projects": ["backend"]}]})
    outcome = world.handle(world.deploy(), rules)
    assert {c["id"] for c in world.sentry_client.list_release_commits(outcome.version)} == set(shas[-5:])


def test_sentry_failure_then_redelivery_records_exactly_one_deploy(world: World) -> None:
    world.push(["one"])
    event = world.deploy()
    world.sentry.set_faults(Faults(error_rate=1.0))
    with pytest.raises(SentryError):
        world.handle(event)
    world.sentry.set_faults(Faults())
    outcome = world.handle(event)  # the failed claim is taken over at once
    assert outcome.status == "released"
    assert len(world.sentry_client.list_deploys(outcome.version)) == 1


def test_crash_after_the_deploy_was_posted_does_not_post_it_twice(world: World) -> None:
    world.push(["one"])
    event = world.deploy()
    done = world.handle(event)
    key = f"run:{event['resource']['run']['id']}:stage:deploy_prod"
    world.store.set_marker(markers.DEPLOY_KIND, key, markers.claim(0.0))  # as a worker dying before recording
    again = world.handle(event)
    assert again.status == "released" and again.deploy_id == done.deploy_id
    assert len(world.sentry_calls("POST", "/deploys/")) == 1


def test_live_claim_elsewhere_asks_for_a_retry(world: World) -> None:
    world.push(["one"])
    event = world.deploy()
    key = f"run:{event['resource']['run']['id']}:stage:deploy_prod"
    world.store.claim_marker(markers.DEPLOY_KIND, key, markers.claim(1000.0))
    with pytest.raises(DeploymentBusy, match="another worker"):
        world.handle(event, clock=lambda: 1060.0)
    assert world.sentry_calls("POST", "/deploys/") == []


def test_unmapped_stage_and_unknown_repository_are_skipped(world: World) -> None:
    world.push(["one"])
    assert "not mapped" in world.handle(world.deploy("deploy_dev")).detail
    other = parse_release_rules({"environments": {"deploy_prod": "production"}, "repositories": [
        {"ado_repository": "api", "sentry_repository": "api", "sentry_projects": ["backend"]}]})
    skipped = world.handle(world.deploy(), other)
    assert skipped.status == "skipped" and "'shop-web'" in skipped.detail
    assert world.sentry_calls("POST", "/releases/") == []


def test_sentry_cli_lists_the_release_deploys(world: World) -> None:
    world.push(["one"])
    outcome = world.handle(world.deploy())
    world.handle(world.deploy("deploy_qa"))  # same head: same release, second deploy
    result = subprocess.run([str(CLI), "--url", world.sentry_url, "--auth-token", SENTRY_TOKEN, "deploys", "list",
                             "--org", "acme", "--release", outcome.version],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    rows = {tuple(cell.strip() for cell in line.strip("|").split("|")[:2])
            for line in result.stdout.splitlines() if line.startswith("| ") and "Environment" not in line}
    assert {env for env, _ in rows} == {"production", "qa"} and len(rows) == 2
    assert all(name.startswith("CI ") and name.endswith(stage) for (_, name), stage in
               zip(sorted(rows), ("deploy_prod", "deploy_qa"), strict=True))


def test_stage_mapped_by_its_display_name_and_deploy_times_taken_from_the_event(world: World) -> None:
    """A YAML stage has an identifier (``stage.name``) and a display name; teams map either. The
    deploy's start and finish are the stage's own times from the event, not the run's start and
    the moment the webhook arrived."""
    world.push(["one"])
    run = world.ado.queue_run("Shop", "shop-web")
    world.ado.complete_stage(run, "Build")  # the deploy stage starts when this one finishes
    world.ado.webhooks.flush()
    before = len(world.receiver.received)
    world.ado.complete_stage(run, "Deploy", display_name="Deployment Stage")
    world.ado.webhooks.flush()
    event = world.receiver.received[before].body
    stage, run_json = event["resource"]["stage"], event["resource"]["run"]
    assert stage["name"] != stage["displayName"] and run_json["name"] != str(run_json["id"])
    rules = parse_release_rules({"version": "{repo}@{short_sha}", "environments": {"Deployment Stage": "production"},
                                 "repositories": [{"ado_repository": "shop-web", "sentry_repository": "Shop Web",
                                                   "sentry_projects": ["backend"]}]})
    outcome = world.handle(event, rules)
    assert (outcome.status, outcome.environment) == ("released", "production"), outcome
    [deploy] = world.sentry_client.list_deploys(outcome.version)
    assert same_instant(deploy["dateStarted"], stage["startTime"])
    assert same_instant(deploy["dateFinished"], stage["finishTime"])
    assert not same_instant(deploy["dateStarted"], world.ado_client.get_build("Shop", run)["startTime"])
    assert run_json["name"] in deploy["name"]  # the build number, as the team sees the run named


def same_instant(a: str, b: str) -> bool:
    return datetime.fromisoformat(a.replace("Z", "+00:00")) == datetime.fromisoformat(b.replace("Z", "+00:00"))
