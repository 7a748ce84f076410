"""A deployment service-hook event read as a ``Deployment``, or the reason it is not one. Pure.

Three ADO events can mean "this code reached an environment" (reference §1.6):
- ``ms.vss-release.deployment-completed-event``: a classic release stage; the environment name is in
  the payload (2022 layout ``resource.environment``, 2025 layout ``resource.deployment``), the build
  behind it only through the Release API.
- ``ms.vss-pipelines.stage-state-changed-event``: one stage of a YAML run; no environment and no SHA,
  so the stage is mapped by configuration (by its identifier ``stage.name`` or its ``displayName``,
  which differ: "Deploy" vs "Deployment Stage") and the commit read from the build (run id ==
  build id). The stage's ``startTime``/``finishTime`` are the deploy's times; ``run.name`` is the
  build number, not the id.
- ``ms.vss-pipelines.run-state-changed-event``: a whole YAML run as one deployment, mapped by the
  pipeline's name.
Only completed and succeeded deployments act; anything else is a ``NoRelease`` with its reason. A
payload that lacks what its event type always carries is a ``DeploymentEventError`` naming the path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from shared.contract import ADO_DEPLOYMENT_EVENTS, CLASSIC_DEPLOYMENT_EVENT, STAGE_EVENT
from shared.identifiers import BadRecord
from shared.releases.rules import ReleaseRules

Kind = Literal["classic", "stage", "run"]


class DeploymentEventError(BadRecord):
    """The event is of a deployment type but misses or garbles a field that type always carries."""


@dataclass(frozen=True)
class Deployment:
    """A successful deployment we act on. ``run_id`` is the build id (YAML) or None (classic, where
    the build is found through ``release_id``)."""

    kind: Kind
    project: str  # ADO project id (GUID) or name, usable in API paths
    environment: str  # Sentry environment
    ado_stage: str  # YAML stage name, classic environment name, or the pipeline name for a whole run
    pipeline: str
    result: str
    url: str | None
    started: str | None
    finished: str | None
    run_id: int | None = None
    run_name: str | None = None
    release_id: int | None = None
    classic_deployment: str | None = None  # classic environment id and deployment id/attempt

    @property
    def key(self) -> str:
        """What makes two deliveries the same deployment: run and stage (classic: release, environment
        and deployment attempt), never the notification id, which differs on a re-sent event."""
        if self.kind == "classic":
            return f"release:{self.release_id}:{self.classic_deployment}"
        return f"run:{self.run_id}:{self.kind}:{self.ado_stage}"


@dataclass(frozen=True)
class NoRelease:
    """Why a well-formed deployment event does not produce a release or deploy."""

    reason: str
    event_type: str


def _at(event: Mapping[str, Any], *path: str) -> Any:
    node: Any = event
    for part in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _required(event: Mapping[str, Any], *path: str) -> Any:
    value = _at(event, *path)
    if value is None or value == "":
        raise DeploymentEventError(f"{event.get('eventType')}: {'.'.join(path)} is missing")
    return value


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise DeploymentEventError(f"{where} must be a positive integer, got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise DeploymentEventError(f"{where} must be a positive integer, got {value!r}") from None
    if number <= 0:
        raise DeploymentEventError(f"{where} must be a positive integer, got {value!r}")
    return number


def _project(event: Mapping[str, Any]) -> str:
    project = _at(event, "resourceContainers", "project", "id") or _at(event, "resource", "project", "id")
    if not isinstance(project, str) or not project:
        raise DeploymentEventError(f"{event.get('eventType')}: resourceContainers.project.id is missing")
    return project


def _lower(value: Any) -> str:
    return str(value or "").strip().lower()


def parse_deployment(event: object, rules: ReleaseRules) -> Deployment | NoRelease:
    """Read one service-hook body (the whole delivered JSON) against the configured mapping."""
    if not isinstance(event, Mapping):
        raise DeploymentEventError(f"event must be a JSON object, got {type(event).__name__}")
    event_type = event.get("eventType")
    if event_type not in ADO_DEPLOYMENT_EVENTS:
        raise DeploymentEventError(f"eventType {event_type!r} is not a deployment event "
                                   f"(expected one of {', '.join(ADO_DEPLOYMENT_EVENTS)})")
    if not isinstance(event.get("resource"), Mapping):
        raise DeploymentEventError(f"{event_type}: resource is missing (subscribe with resourceDetailsToSend=all)")
    if event_type == CLASSIC_DEPLOYMENT_EVENT:
        return _classic(event, rules)
    return _pipeline(event, rules, "stage" if event_type == STAGE_EVENT else "run")


def _classic(event: Mapping[str, Any], rules: ReleaseRules) -> Deployment | NoRelease:
    resource = event["resource"]
    env = resource.get("environment") if isinstance(resource.get("environment"), Mapping) else None
    deployment = resource.get("deployment") if isinstance(resource.get("deployment"), Mapping) else {}
    env = env or deployment.get("environment")
    if not isinstance(env, Mapping) or not env.get("name"):
        raise DeploymentEventError(f"{CLASSIC_DEPLOYMENT_EVENT}: resource.environment.name (or "
                                   "resource.deployment.environment.name) is missing")
    release = env.get("release") or deployment.get("release")
    if not isinstance(release, Mapping) or release.get("id") is None:
        raise DeploymentEventError(f"{CLASSIC_DEPLOYMENT_EVENT}: resource.environment.release.id (or "
                                   "resource.deployment.release.id) is missing")
    release_id = _int(release["id"], f"{CLASSIC_DEPLOYMENT_EVENT}: release.id")
    status = _lower(deployment.get("status") or env.get("status"))
    definition = _at(release, "releaseDefinition", "name") or _at(env, "releaseDefinition", "name") or ""
    name = str(env["name"])
    if status != "succeeded":
        return NoRelease(f"classic deployment of release {release_id} to {name!r} is {status or 'without status'}, "
                    "not succeeded", CLASSIC_DEPLOYMENT_EVENT)
    keys = [f"{definition}/{name}", name] if definition else [name]
    environment = rules.environment_for(*keys)
    if environment is None:
        return NoRelease(f"classic environment {name!r} is not mapped in releases.environments",
                         CLASSIC_DEPLOYMENT_EVENT)
    steps = env.get("deploySteps") if isinstance(env.get("deploySteps"), list) else []
    attempt = deployment.get("id") or (steps[-1].get("attempt") if steps and isinstance(steps[-1], Mapping) else None)
    return Deployment(
        kind="classic", project=_project(event), environment=environment, ado_stage=name,
        pipeline=str(definition or release.get("name") or ""), result=status,
        url=_at(release, "_links", "web", "href"),
        started=deployment.get("startedOn") or deployment.get("queuedOn"),
        finished=deployment.get("completedOn") or event.get("createdDate"),
        release_id=release_id, run_name=release.get("name"),
        classic_deployment=f"{env.get('id', name)}:{attempt if attempt is not None else 1}")


def _pipeline(event: Mapping[str, Any], rules: ReleaseRules, kind: Kind) -> Deployment | NoRelease:
    event_type = str(event["eventType"])
    run = _required(event, "resource", "run")
    run_id = _int(_required(event, "resource", "run", "id"), f"{event_type}: resource.run.id")
    pipeline = str(_at(event, "resource", "pipeline", "name") or _at(run, "pipeline", "name") or "")
    started, finished = run.get("createdDate"), run.get("finishedDate")
    if kind == "stage":
        stage = _required(event, "resource", "stage")
        name = str(stage.get("name") or stage.get("displayName") or "")
        if not name:
            raise DeploymentEventError(f"{event_type}: resource.stage.name is missing")
        state, result = _lower(stage.get("state")), _lower(stage.get("result"))
        names = list(dict.fromkeys(n for n in (name, str(stage.get("displayName") or "")) if n))
        what = f"stage {' / '.join(repr(n) for n in names)} of run {run_id}"
        keys = [f"{pipeline}/{n}" for n in names] + names
        started, finished = stage.get("startTime"), stage.get("finishTime")
    else:
        if not pipeline:
            raise DeploymentEventError(f"{event_type}: resource.pipeline.name is missing")
        name, state, result = pipeline, _lower(run.get("state")), _lower(run.get("result"))
        what, keys = f"run {run_id} of pipeline {pipeline!r}", [pipeline]
    if state != "completed":
        return NoRelease(f"{what} is {state or 'in an unknown state'}, not completed", event_type)
    if result != "succeeded":
        return NoRelease(f"{what} {result or 'has no result'}, not succeeded", event_type)
    environment = rules.environment_for(*keys)
    if environment is None:
        mapped = " or ".join(repr(k) for k in keys)
        return NoRelease(f"{what}: {mapped} is not mapped in releases.environments", event_type)
    return Deployment(
        kind=kind, project=_project(event), environment=environment, ado_stage=name, pipeline=pipeline,
        result=result, url=_at(run, "_links", "web", "href"), started=started or None,
        finished=finished or event.get("createdDate"), run_id=run_id, run_name=str(run.get("name") or run_id))
