"""Deployment service-hook bodies shaped like the documented samples (reference §1.4-§1.5), for tests."""

from __future__ import annotations

from typing import Any

PROJECT_ID = "6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c"
WEB = "https://dev.azure.com/contoso/Shop/_build/results?buildId=42"


def _envelope(event_type: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"subscriptionId": "s1", "notificationId": 7, "id": "n-1", "eventType": event_type,
            "resource": resource, "resourceVersion": "5.1-preview.1", "createdDate": "2026-01-02T10:05:00Z",
            "resourceContainers": {"project": {"id": PROJECT_ID}}}


def _run(run_id: int = 42, state: str = "completed", result: str | None = "succeeded") -> dict[str, Any]:
    return {"_links": {"web": {"href": WEB}}, "pipeline": {"id": 1, "name": "shop-deploy"}, "state": state,
            "result": result, "createdDate": "2026-01-02T10:00:00Z", "finishedDate": "2026-01-02T10:04:00Z",
            "id": run_id, "name": "20260102.3"}


def stage_event(stage: str = "deploy_prod", state: str = "completed", result: str = "succeeded",
                run_id: int = 42) -> dict[str, Any]:
    return _envelope("ms.vss-pipelines.stage-state-changed-event", {
        "stage": {"id": "s", "name": stage, "displayName": stage, "state": state, "result": result},
        "run": _run(run_id), "pipeline": {"id": 1, "name": "shop-deploy"}})


def run_event(state: str = "completed", result: str | None = "succeeded", run_id: int = 42) -> dict[str, Any]:
    run = _run(run_id, state, result)
    return _envelope("ms.vss-pipelines.run-state-changed-event", {"run": run, "pipeline": run["pipeline"]})


def classic_event_2022(env: str = "Production", status: str = "succeeded") -> dict[str, Any]:
    body = _envelope("ms.vss-release.deployment-completed-event", {
        "environment": {"id": 5, "name": env, "status": status, "definitionEnvironmentId": 1,
                        "release": {"id": 9, "name": "Release-9", "url": "https://vsrm/x",
                                    "_links": {"web": {"href": "https://dev.azure.com/contoso/Shop/_release?releaseId=9"}}},
                        "deploySteps": [{"attempt": 2}]},
        "project": {"id": PROJECT_ID, "name": "Shop"}})
    del body["resourceContainers"]
    return body


def classic_event_2025(env: str = "Production", status: str = "succeeded") -> dict[str, Any]:
    return _envelope("ms.vss-release.deployment-completed-event", {
        "deployment": {"id": 77, "status": status, "environment": {"id": 5, "name": env},
                       "release": {"id": 9, "name": "Release-9", "releaseDefinition": {"id": 1, "name": "Shop CD"}},
                       "startedOn": "2026-01-02T09:58:00Z", "completedOn": "2026-01-02T10:04:30Z"}})
