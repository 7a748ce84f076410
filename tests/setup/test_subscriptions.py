"""The subscription plan: pure, so every reconcile rule is shown on plain data."""

from __future__ import annotations

from typing import Any

import pytest

from shared.contract import ADO_SECRET_HEADER, ADO_WORK_ITEM_EVENTS
from shared.setup.subscriptions import (
    desired_subscription,
    hook_secret,
    plan_subscriptions,
    select_projects,
    webhook_url,
)

URL = "https://sync.example.net/api/ado/webhook"
SECRET = "s3cret-value"
SHOP = {"id": "0b5e4b6f-aaaa-4c1e-9d9e-000000000001", "name": "Shop"}
OPS = {"id": "0b5e4b6f-aaaa-4c1e-9d9e-000000000002", "name": "Ops"}


def existing(event: str, project: dict[str, str] = SHOP, sub_id: str = "sub-1", **over: Any) -> dict[str, Any]:
    sub = {**desired_subscription(project["id"], event, URL, SECRET), "id": sub_id, "status": "enabled"}
    for key, value in over.items():
        sub[key] = value
    return sub


def all_of(project: dict[str, str] = SHOP) -> list[dict[str, Any]]:
    return [existing(e, project, f"{project['name']}-{e}") for e in ADO_WORK_ITEM_EVENTS]


def test_nothing_exists_creates_one_per_project_and_event_with_the_secret_header() -> None:
    changes = plan_subscriptions([], [SHOP, OPS], URL, SECRET)
    assert [(c.action, c.project, c.event_type) for c in changes] == [
        ("create", p["name"], e) for p in (SHOP, OPS) for e in ADO_WORK_ITEM_EVENTS]
    body = changes[0].body
    assert body is not None
    assert body["publisherInputs"] == {"projectId": SHOP["id"]}
    assert body["resourceVersion"] == "1.0"
    assert (body["consumerId"], body["consumerActionId"]) == ("webHooks", "httpRequest")
    assert body["consumerInputs"] == {"url": URL, "httpHeaders": f"{ADO_SECRET_HEADER}:{SECRET}"}


def test_matching_enabled_subscriptions_are_kept_so_a_second_run_changes_nothing() -> None:
    changes = plan_subscriptions(all_of(), [SHOP], URL, SECRET)
    assert {c.action for c in changes} == {"keep"}
    assert [c.subscription_id for c in changes] == [f"Shop-{e}" for e in ADO_WORK_ITEM_EVENTS]


@pytest.mark.parametrize("status", ["disabledBySystem", "onProbation", "disabledByUser", "disabledByInactiveIdentity"])
def test_a_disabled_subscription_is_replaced_in_place_and_re_enabled(status: str) -> None:
    subs = all_of()
    subs[1]["status"] = status
    changes = plan_subscriptions(subs, [SHOP], URL, SECRET)
    replaced = [c for c in changes if c.action == "replace"]
    assert [(c.subscription_id, c.reason) for c in replaced] == [(subs[1]["id"], f"status {status}")]
    assert replaced[0].body is not None
    assert replaced[0].body["status"] == "enabled" and replaced[0].body["id"] == subs[1]["id"]


@pytest.mark.parametrize(("change", "reason"), [
    ({"resourceVersion": "5.1-preview.3"}, "resource version"),
    ({"publisherInputs": {"projectId": SHOP["id"], "areaPath": "Shop\\Web"}}, "filters areaPath"),
    ({"consumerInputs": {"url": URL, "httpHeaders": ""}}, f"no {ADO_SECRET_HEADER} header"),
    ({"consumerInputs": {"url": URL, "httpHeaders": f"{ADO_SECRET_HEADER}:old"}}, "differs from ADO_HOOK_SECRET"),
])
def test_a_mismatched_subscription_is_replaced_with_the_reason(change: dict[str, Any], reason: str) -> None:
    subs = all_of()
    subs[0].update(change)
    changes = plan_subscriptions(subs, [SHOP], URL, SECRET)
    assert [c.action for c in changes] == ["replace", "keep", "keep", "keep"]
    assert reason in changes[0].reason


def test_a_masked_secret_cannot_be_compared_so_it_is_kept_unless_forced() -> None:
    subs = all_of()
    subs[0]["consumerInputs"] = {"url": URL, "httpHeaders": f"{ADO_SECRET_HEADER}:********"}
    kept = plan_subscriptions(subs, [SHOP], URL, SECRET)
    assert kept[0].action == "keep" and "masked" in kept[0].reason
    forced = plan_subscriptions(subs, [SHOP], URL, SECRET, force=True)
    assert {c.action for c in forced} == {"replace"}


def test_duplicates_are_deleted_and_the_healthy_one_kept() -> None:
    event = ADO_WORK_ITEM_EVENTS[0]
    broken = existing(event, sub_id="a-broken", status="disabledBySystem")
    healthy = existing(event, sub_id="b-healthy")
    changes = plan_subscriptions([broken, healthy, *all_of()[1:]], [SHOP], URL, SECRET)
    first = [c for c in changes if c.event_type == event]
    assert [(c.action, c.subscription_id) for c in first] == [("keep", "b-healthy"), ("delete", "a-broken")]


def test_subscriptions_of_other_urls_projects_and_consumers_are_left_alone() -> None:
    other_url = existing(ADO_WORK_ITEM_EVENTS[0], sub_id="x1",
                         consumerInputs={"url": "https://other.example.net/hook", "httpHeaders": ""})
    other_project = existing(ADO_WORK_ITEM_EVENTS[0], OPS, "x2")
    other_consumer = existing(ADO_WORK_ITEM_EVENTS[0], sub_id="x3", consumerId="slack")
    changes = plan_subscriptions([other_url, other_project, other_consumer], [SHOP], URL, SECRET)
    assert {c.action for c in changes} == {"create"}
    assert not {"x1", "x2", "x3"} & {c.subscription_id for c in changes}


def test_url_comparison_ignores_host_case_and_a_trailing_slash() -> None:
    subs = [existing(e, sub_id=e, consumerInputs={"url": URL.replace("sync.example", "SYNC.Example") + "/",
                                                  "httpHeaders": f"{ADO_SECRET_HEADER}:{SECRET}"})
            for e in ADO_WORK_ITEM_EVENTS]
    assert {c.action for c in plan_subscriptions(subs, [SHOP], URL, SECRET)} == {"keep"}


def test_describe_never_shows_the_secret() -> None:
    for change in plan_subscriptions([], [SHOP], URL, SECRET):
        assert SECRET not in change.describe() and SECRET not in repr(change)


def test_the_base_url_means_the_webhook_route() -> None:
    assert webhook_url("https://sync.example.net/") == "https://sync.example.net/api/ado/webhook"
    assert webhook_url("https://sync.example.net/api/ado/webhook") == "https://sync.example.net/api/ado/webhook"


@pytest.mark.parametrize(("url", "message"), [
    ("", "empty"),
    ("sync.example.net/api/ado/webhook", "absolute URL"),
    ("http://sync.example.net/api/ado/webhook", "https"),
    ("https://sync.example.net/api/sentry/webhook", "expected the app's base URL"),
    ("https://sync.example.net/api/ado/webhook?code=abc", "no query"),
])
def test_bad_urls_are_refused_by_name(url: str, message: str) -> None:
    with pytest.raises(ValueError, match="--url") as info:
        webhook_url(url)
    assert message in str(info.value)


def test_plain_http_is_accepted_on_loopback_only() -> None:
    assert webhook_url("http://127.0.0.1:7071/api/ado/webhook/") == "http://127.0.0.1:7071/api/ado/webhook"


@pytest.mark.parametrize("secret", ["", "  ", "two\nlines", " padded"])
def test_a_secret_that_cannot_be_one_header_line_is_refused_without_showing_it(secret: str) -> None:
    with pytest.raises(ValueError, match="ADO_HOOK_SECRET") as info:
        hook_secret(secret)
    assert not secret.strip() or secret.strip() not in str(info.value)


def test_select_projects_by_name_or_id_and_names_the_unknown_ones() -> None:
    assert select_projects([SHOP, OPS], ["shop", OPS["id"], "Shop"]) == [SHOP, OPS]
    with pytest.raises(ValueError, match=r"Nope.*has: Ops, Shop"):
        select_projects([SHOP, OPS], ["Nope"])
