"""Check verdicts from plain data and typed errors: the hints a person acts on."""

from __future__ import annotations

from cli import checks as c
from shared.ado.errors import AdoAuthError, AdoPermissionDenied, InvalidFieldValue
from shared.config import Route
from shared.sentry.errors import SentryPermissionDenied
from shared.setup.subscriptions import desired_subscription

SHOP = {"id": "p-1", "name": "Shop"}
ROUTE = Route(sentry_projects=("backend",), ado_project="Shop", work_item_type="Bug", area_path="Shop\\Web",
              fields={"Microsoft.VSTS.Common.Severity": "2 - High"})


def test_line_format_and_exit_code() -> None:
    good, bad = c.ok("thing", "fine"), c.fail("other", "broken", "do this")
    assert good.line() == "ok   thing: fine"
    assert bad.line() == "FAIL other: broken\n     fix: do this"
    assert c.exit_code([good, c.skipped("x", "y")]) == 0 and c.exit_code([good, bad]) == 1


def test_auth_hint_depends_on_the_auth_mode() -> None:
    exc = AdoAuthError("refused", status=401)
    assert "ADO_PAT" in c.ado_failure("x", exc, "pat").hint
    assert "added to the organization" in c.ado_failure("x", exc, "service-principal").hint
    assert "managed identity" in c.ado_failure("x", exc, "managed-identity").hint


def test_a_pat_refused_for_a_scope_is_told_to_get_that_scope() -> None:
    exc = AdoAuthError("refused (a PAT needs scope vso.work_write for this call)", status=401)
    exc.scope = "vso.work_write"  # type: ignore[attr-defined] - set by the client when it knows the call's scope
    hint = c.ado_failure("create Bug in Shop (validateOnly)", exc, "pat").hint
    assert "give ADO_PAT the vso.work_write scope" in hint


def test_create_refusals_point_at_the_route_or_the_permission() -> None:
    rule = InvalidFieldValue("TF401347", field="System.AreaPath", status=400)
    assert "System.AreaPath = 'Shop\\\\Web' of routes[3]" in c.create_failure(3, ROUTE, rule, "pat").hint
    denied = AdoPermissionDenied("no", status=403)
    assert "Edit work items in this node" in c.create_failure(0, ROUTE, denied, "pat").hint


def test_validation_ops_carry_title_area_and_route_fields() -> None:
    paths = {op["path"]: op["value"] for op in c.validation_ops(ROUTE)}
    assert paths["/fields/System.AreaPath"] == "Shop\\Web"
    assert paths["/fields/Microsoft.VSTS.Common.Severity"] == "2 - High"
    assert "/fields/System.Title" in paths and "/fields/System.IterationPath" not in paths


def test_sentry_permission_hint_names_the_scope() -> None:
    verdict = c.sentry_failure("members", SentryPermissionDenied("no", status=403), "Member: Read")
    assert verdict.failed and "Member: Read" in verdict.hint


def test_hooks_verdict_accepts_any_app_host_but_needs_every_event_enabled() -> None:
    url = "https://any-host.example/api/ado/webhook"
    subs = [{**desired_subscription("p-1", e, url, "s"), "status": "enabled"}
            for e in ("workitem.updated", "workitem.commented", "workitem.deleted", "workitem.restored")]
    assert not c.hooks_verdict(SHOP, subs).failed
    subs[2]["status"] = "disabledBySystem"
    verdict = c.hooks_verdict(SHOP, subs)
    assert verdict.failed and verdict.detail == "workitem.deleted status disabledBySystem"
    elsewhere = [{**s, "consumerInputs": {"url": "https://other.example/hook"}} for s in subs]
    assert "workitem.updated missing" in c.hooks_verdict(SHOP, elsewhere).detail


def test_connection_and_project_verdicts() -> None:
    assert c.connection_verdict({"authenticatedUser": {"providerDisplayName": "Bridge"}}).detail == "as Bridge"
    assert c.connection_verdict({}).failed
    assert not c.project_verdict(0, ROUTE, [{"id": "p-1", "name": "shop"}]).failed
    assert "routes[0].ado_project" in c.project_verdict(0, ROUTE, [{"id": "p-2", "name": "Ops"}]).hint


def test_sentry_scopes_verdict_counts_higher_levels_and_names_the_permission() -> None:
    from shared.setup.manifest import BASE_PERMISSIONS, COMMIT_TRACKING_PERMISSIONS

    everything = ["event:admin", "org:read", "member:read", "project:read", "project:releases"]
    assert not c.sentry_scopes_verdict(everything, BASE_PERMISSIONS + COMMIT_TRACKING_PERMISSIONS).failed
    verdict = c.sentry_scopes_verdict(["event:read", "org:read", "member:read"],
                                      BASE_PERMISSIONS + COMMIT_TRACKING_PERMISSIONS)
    assert verdict.failed and "missing event:write" in verdict.detail and "project:releases" in verdict.detail
    assert "Issue & Event: Read & Write" in verdict.hint and "Release: Admin" in verdict.hint


# --- the issue activity channel ----------------------------------------------------------------

OURS = {"uuid": "inst-1", "app": {"uuid": "app-1", "slug": "sentry-ado", "sentryAppId": 31}}
OTHER = {"uuid": "inst-2", "app": {"uuid": "app-2", "slug": "other", "sentryAppId": 77}}


def workflow(name: str, target: str = "31", triggers: tuple[str, ...] = ("issue_resolved_trigger",),
             enabled: bool = True, action_type: str = "sentry_app") -> dict:
    """As GET organizations/{org}/workflows/ lists one (WorkflowSerializer, ActionSerializer)."""
    return {"name": name, "enabled": enabled,
            "triggers": {"conditions": [{"type": t, "comparison": True, "conditionResult": True} for t in triggers]},
            "actionFilters": [{"conditions": [], "actions": [{"type": action_type, "config": {
                "targetType": "sentry_app", "targetIdentifier": target, "sentryAppIdentifier": "sentry_app_id"}}]}]}


def test_a_workflow_sending_resolves_to_our_app_is_the_channel_set_up() -> None:
    verdict = c.activity_channel_verdict([workflow("to ADO"), workflow("to other", "77")], [OURS, OTHER], "inst-1")
    assert verdict.status == "ok" and verdict.detail == "set up: 'to ADO'"
    by_uuid = c.activity_channel_verdict([workflow("by uuid", "inst-1")], [OURS, OTHER], "inst-1")
    assert by_uuid.detail == "set up: 'by uuid'"


def test_a_workflow_that_cannot_send_activity_is_named_with_what_it_lacks() -> None:
    for lacking in (workflow("new issues", triggers=("first_seen_event",)), workflow("off", enabled=False)):
        verdict = c.activity_channel_verdict([lacking], [OURS], None)
        assert verdict.status == "ok" and verdict.detail.startswith("not set up:")
        assert repr(lacking["name"]) in verdict.detail and "issue_resolved_trigger" in verdict.detail


def test_no_workflow_for_our_app_is_said_but_is_no_failure() -> None:
    for workflows in ([], [workflow("to other", "77")], [workflow("email", action_type="email")]):
        verdict = c.activity_channel_verdict(workflows, [OURS, OTHER], "inst-1")
        assert not verdict.failed and "no alert sends issue activity to the app" in verdict.detail
