"""The Azure DevOps service hook subscriptions the app needs, and how to get from what exists to them.

One subscription per (configured project, work item event), each a webHooks/httpRequest consumer
posting resource version 1.0 to the app's ``/api/ado/webhook`` with the shared secret in the
``X-Hook-Secret`` header (ADO signs nothing, so that header is the only proof a delivery is real).

Rules of the plan (`plan_subscriptions`, pure):
- Ours are the subscriptions of our events, publisher ``tfs`` and consumer ``webHooks`` whose target
  URL is ours; anything else in the organization is someone else's and is never touched.
- A matching, enabled subscription is kept, so a second run changes nothing.
- A disabled one (``disabledBySystem``, ``onProbation``, ...) or one that differs (filters, resource
  version, header, URL path) is replaced in place, which keeps its id and re-enables it.
- Duplicates for the same (project, event) are deleted: each would deliver every event again.
- ADO may mask confidential inputs (``********``); a masked header cannot be compared, so it is
  kept unless ``force`` is set (use it after rotating ADO_HOOK_SECRET).

`ensure_subscriptions` is the shell: list, plan, apply; the reconcile timer calls it too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import urlparse

from shared.contract import ADO_SECRET_HEADER, ADO_WEBHOOK_PATH, ADO_WORK_ITEM_EVENTS, STAGE_EVENT
from shared.setup.manifest import LOOPBACK_HOSTS

PUBLISHER_ID = "tfs"
CONSUMER_ID = "webHooks"
CONSUMER_ACTION_ID = "httpRequest"
RESOURCE_VERSION = "1.0"
ENABLED = "enabled"
MASK = "********"
# Events from another publisher than work item tracking's: (publisherId, resourceVersion). A YAML
# pipeline's stage completions come from the ``pipelines`` publisher (service-hooks events reference,
# MicrosoftDocs/azure-devops-docs docs/service-hooks/events.md "Stage state changed").
OTHER_PUBLISHERS = {STAGE_EVENT: ("pipelines", "5.1-preview.1")}
# Publisher inputs that narrow which events are delivered; any non-empty one would lose events.
FILTER_INPUTS = ("areaPath", "workItemType", "changedFields", "commentPattern", "linksChanged", "tag")

ChangeKind = Literal["create", "replace", "delete", "keep"]


@dataclass(frozen=True)
class Change:
    """One step of the plan; ``body`` is what to send for create/replace (it holds the secret,
    so it is left out of ``repr`` and never printed: use `describe`)."""

    action: ChangeKind
    event_type: str
    project: str
    subscription_id: str | None = None
    reason: str = ""
    body: Mapping[str, Any] | None = field(default=None, repr=False)

    def describe(self) -> str:
        sub = f" {self.subscription_id}" if self.subscription_id else ""
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.action:<7} {self.event_type:<19} project {self.project}{sub}{why}"


def webhook_url(url: str) -> str:
    """Validate ``--url``: the app's absolute https base URL (the same ``--url`` as the manifest's),
    or its ``/api/ado/webhook`` route (plain http only on loopback, for the sandbox). Returns the
    route's URL without a trailing slash."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"--url: expected https://<app>{ADO_WEBHOOK_PATH}, got an empty value")
    value = url.strip().rstrip("/")
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"--url: expected an absolute URL such as https://<app>{ADO_WEBHOOK_PATH}, got {value!r}")
    if parsed.scheme == "http" and parsed.hostname not in LOOPBACK_HOSTS:
        raise ValueError(f"--url: Azure DevOps must reach the app over https, got {value!r}")
    if parsed.query or parsed.fragment:
        raise ValueError(f"--url: the ADO webhook route takes no query or fragment (it authenticates with "
                         f"the {ADO_SECRET_HEADER} header), got {value!r}")
    if parsed.path in ("", "/"):  # the app's base URL, as `sentry-ado manifest --url` takes it
        return value + ADO_WEBHOOK_PATH
    if not parsed.path.endswith(ADO_WEBHOOK_PATH):
        raise ValueError(f"--url: expected the app's base URL https://<app>.azurewebsites.net (or its "
                         f"{ADO_WEBHOOK_PATH} route), got a path {parsed.path!r}")
    return value


def hook_secret(secret: str) -> str:
    """The secret must fit one ``Key:value`` header line; the message never shows the value."""
    if not isinstance(secret, str) or not secret.strip():
        raise ValueError("ADO_HOOK_SECRET: is empty; set a long random value")
    if secret != secret.strip() or any(c in secret for c in "\r\n"):
        raise ValueError("ADO_HOOK_SECRET: must not contain line breaks or leading/trailing spaces "
                         "(it is sent as one HTTP header line)")
    return secret


def publisher_of(event_type: str) -> tuple[str, str]:
    """(publisherId, resourceVersion) of the subscription for ``event_type``."""
    return OTHER_PUBLISHERS.get(event_type, (PUBLISHER_ID, RESOURCE_VERSION))


def events_for(commit_tracking: bool) -> tuple[str, ...]:
    """The events to subscribe: work item changes, and with ``[releases]`` YAML stage completions."""
    return ADO_WORK_ITEM_EVENTS + ((STAGE_EVENT,) if commit_tracking else ())


def desired_subscription(project_id: str, event_type: str, url: str, secret: str) -> dict[str, Any]:
    """The create body for one (project, event)."""
    publisher, version = publisher_of(event_type)
    return {
        "publisherId": publisher, "eventType": event_type, "resourceVersion": version,
        "consumerId": CONSUMER_ID, "consumerActionId": CONSUMER_ACTION_ID,
        "publisherInputs": {"projectId": project_id},
        "consumerInputs": {"url": url, "httpHeaders": f"{ADO_SECRET_HEADER}:{secret}"},
    }


def _same_url(a: str, b: str) -> bool:
    pa, pb = urlparse(a.rstrip("/")), urlparse(b.rstrip("/"))
    return ((pa.scheme.lower(), (pa.hostname or "").lower(), pa.port, pa.path)
            == (pb.scheme.lower(), (pb.hostname or "").lower(), pb.port, pb.path))


def targets_app(sub: Mapping[str, Any], url: str | None) -> bool:
    """Whether a subscription posts to the app: to ``url`` exactly, or (no url known, as in
    `check`) to any host's ``/api/ado/webhook``."""
    target = str((sub.get("consumerInputs") or {}).get("url") or "")
    if url is not None:
        return _same_url(target, url)
    return urlparse(target).path.rstrip("/").endswith(ADO_WEBHOOK_PATH)


def _is_for(sub: Mapping[str, Any], project_id: str, event_type: str) -> bool:
    return (sub.get("publisherId") == publisher_of(event_type)[0] and sub.get("consumerId") == CONSUMER_ID
            and sub.get("eventType") == event_type
            and str((sub.get("publisherInputs") or {}).get("projectId") or "").lower() == project_id.lower())


def _secret_header(http_headers: str) -> str | None:
    """The value of our header among ``Key:value`` lines, None when absent."""
    for line in http_headers.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == ADO_SECRET_HEADER.lower():
            return value.strip()
    return None


def problems_of(sub: Mapping[str, Any], secret: str | None) -> list[str]:
    """Why a subscription of ours would not deliver every event correctly (empty: it is fine).
    ``secret`` None skips the header value (``check`` verifies presence only)."""
    problems: list[str] = []
    status = sub.get("status") or ENABLED
    if status != ENABLED:
        problems.append(f"status {status}")
    version = publisher_of(str(sub.get("eventType") or ""))[1]
    if sub.get("resourceVersion") != version:
        problems.append(f"resource version {sub.get('resourceVersion')!r}, expected {version}")
    if sub.get("consumerActionId", CONSUMER_ACTION_ID) != CONSUMER_ACTION_ID:
        problems.append(f"consumer action {sub.get('consumerActionId')!r}, expected {CONSUMER_ACTION_ID}")
    inputs = sub.get("publisherInputs") or {}
    narrowing = sorted(k for k in FILTER_INPUTS if inputs.get(k))
    if narrowing:
        problems.append(f"filters {', '.join(narrowing)} drop events")
    offered = _secret_header(str((sub.get("consumerInputs") or {}).get("httpHeaders") or ""))
    if offered is None:
        problems.append(f"no {ADO_SECRET_HEADER} header")
    elif secret is not None and offered != secret and not _masked(offered):
        problems.append(f"{ADO_SECRET_HEADER} differs from ADO_HOOK_SECRET")
    return problems


def _masked(value: str) -> bool:
    return value != "" and value.strip("*") == ""


def _header_masked(sub: Mapping[str, Any]) -> bool:
    offered = _secret_header(str((sub.get("consumerInputs") or {}).get("httpHeaders") or ""))
    return offered is not None and _masked(offered)


def _rank(sub: Mapping[str, Any], secret: str) -> tuple[int, str]:
    """Prefer keeping a healthy subscription, then the oldest id for a stable choice."""
    return (len(problems_of(sub, secret)), str(sub.get("id") or ""))


def plan_subscriptions(existing: Sequence[Mapping[str, Any]], projects: Sequence[Mapping[str, Any]],
                       url: str, secret: str, force: bool = False,
                       events: Sequence[str] = ADO_WORK_ITEM_EVENTS) -> list[Change]:
    """What to create, replace, delete or keep so every project has one healthy subscription per
    event. ``projects`` are ADO project objects (``id``, ``name``); pure and deterministic."""
    url, secret = webhook_url(url), hook_secret(secret)
    changes: list[Change] = []
    for project in projects:
        project_id, name = str(project.get("id") or ""), str(project.get("name") or project.get("id") or "")
        if not project_id:
            raise ValueError(f"project {name!r} has no id; pass ADO project objects from the projects list")
        for event in events:
            body = desired_subscription(project_id, event, url, secret)
            ours = sorted((s for s in existing if _is_for(s, project_id, event) and targets_app(s, url)),
                          key=lambda s: _rank(s, secret))
            if not ours:
                changes.append(Change("create", event, name, reason="missing", body=body))
                continue
            keep, *extra = ours
            problems = problems_of(keep, secret)
            if problems or force:
                reason = "; ".join(problems) if problems else "forced rewrite"
                changes.append(Change("replace", event, name, str(keep.get("id")), reason,
                                      {**body, "id": keep.get("id"), "status": ENABLED}))
            else:
                masked = " (secret masked by ADO, not compared)" if _header_masked(keep) else ""
                changes.append(Change("keep", event, name, str(keep.get("id")), "enabled and matching" + masked))
            changes.extend(Change("delete", event, name, str(s.get("id")), "duplicate") for s in extra)
    return changes


class HookApi(Protocol):
    """The part of ``AdoClient`` the shell needs (any object with these methods will do)."""

    def projects(self) -> list[dict[str, Any]]: ...
    def list_hook_subscriptions(self, publisher_id: str | None = ..., event_type: str | None = ...,
                                consumer_id: str | None = ...) -> list[dict[str, Any]]: ...
    def create_hook_subscription(self, subscription: Mapping[str, Any]) -> dict[str, Any]: ...
    def replace_hook_subscription(self, subscription_id: str, subscription: Mapping[str, Any]) -> dict[str, Any]: ...
    def delete_hook_subscription(self, subscription_id: str) -> None: ...


def select_projects(available: Sequence[Mapping[str, Any]], wanted: Sequence[str]) -> list[Mapping[str, Any]]:
    """The ADO projects named (or id'd) in ``wanted``, case-insensitive, in ``wanted`` order; an
    unknown name raises naming it and what exists."""
    by_key = {str(p.get(k) or "").lower(): p for p in available for k in ("name", "id")}
    missing = [w for w in wanted if w.lower() not in by_key]
    if missing:
        names = ", ".join(sorted(str(p.get("name")) for p in available)) or "none"
        raise ValueError(f"ADO project(s) {', '.join(missing)} not found in the organization (it has: {names})")
    chosen = [by_key[w.lower()] for w in wanted]
    return list({str(p.get("id")): p for p in chosen}.values())


def ensure_subscriptions(ado: HookApi, project_names: Sequence[str], url: str, secret: str,
                         force: bool = False, dry_run: bool = False,
                         report: Callable[[Change], None] | None = None,
                         events: Sequence[str] = ADO_WORK_ITEM_EVENTS) -> list[Change]:
    """List, plan and apply; returns the changes as applied (created ones carry the new id).
    ``report`` sees each change right after it was applied, so a failure half-way still leaves
    an accurate account of what was done."""
    projects = select_projects(ado.projects(), project_names)
    publishers = sorted({publisher_of(e)[0] for e in events})
    existing = [sub for publisher in publishers for sub in ado.list_hook_subscriptions(publisher, None, CONSUMER_ID)]
    plan = plan_subscriptions(existing, projects, url, secret, force, events)
    if dry_run:
        plan = [Change(ch.action, ch.event_type, ch.project, ch.subscription_id, ch.reason) for ch in plan]
        for change in plan:
            if report:
                report(change)
        return plan
    applied: list[Change] = []
    for change in plan:
        if change.action == "create" and change.body is not None:
            created = ado.create_hook_subscription(change.body)
            change = Change("create", change.event_type, change.project, str(created.get("id")), change.reason)
        elif change.action == "replace" and change.body is not None and change.subscription_id:
            ado.replace_hook_subscription(change.subscription_id, change.body)
        elif change.action == "delete" and change.subscription_id:
            ado.delete_hook_subscription(change.subscription_id)
        done = Change(change.action, change.event_type, change.project, change.subscription_id, change.reason)
        applied.append(done)
        if report:
            report(done)
    return applied
