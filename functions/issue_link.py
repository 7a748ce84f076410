"""Sentry's issue-link UI (create / link a work item from the Sentry issue page) and the
alert-rule action's settings check. Synchronous: Sentry shows our answer to the person.

Routes (shared/contract.py; `sentry-ado manifest` tells Sentry):
- GET  /api/sentry/issue-link/options/{kind}   kind: projects | types | areas | workitems | iterations |
                                                priorities | severities | assignees | required-1..3
- POST /api/sentry/issue-link/create            answers {webUrl, project, identifier}
- POST /api/sentry/issue-link/link              answers {webUrl, project, identifier}
- POST /api/sentry/alert-rule-action            answers 200 {message} or 400 {message}
All verify ``Sentry-App-Signature`` (anonymous auth level: Sentry cannot send function keys here).
A refusal is ``{"message"}`` with 400 (the form) or 409 (already linked), which Sentry shows to the
person; the work is done by `shared/issue_link_service.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import azure.functions as func

from functions.responses import answers_json, json_response
from shared import issue_link as ui
from shared.contract import (
    ALERT_RULE_ACTION_ROUTE,
    ISSUE_LINK_CREATE_ROUTE,
    ISSUE_LINK_LINK_ROUTE,
    ISSUE_LINK_OPTIONS_ROUTE,
)
from shared.create_form import parse_choices
from shared.intake import check_ui_request
from shared.runtime import runtime

bp = func.Blueprint()


def _answered(handle: Callable[[func.HttpRequest, dict[str, Any]], func.HttpResponse]) -> Callable[..., Any]:
    """Verify the signature, parse the body, and answer a `Refusal` as Sentry shows it."""

    def route(req: func.HttpRequest) -> func.HttpResponse:
        s = runtime().config.settings
        verdict = check_ui_request(req.headers, req.get_body(), s.sentry_client_secret.reveal(), s.webhook_max_bytes)
        if verdict.message is None:
            return json_response({"message": verdict.detail}, verdict.status)
        try:
            return handle(req, json.loads(verdict.message))
        except ui.Refusal as exc:
            return json_response({"message": str(exc)}, exc.status)

    route.__name__ = handle.__name__
    route.__doc__ = handle.__doc__
    return answers_json("message")(route)


@bp.function_name("issue_link_options")
@bp.route(route=ISSUE_LINK_OPTIONS_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@_answered
def issue_link_options(req: func.HttpRequest, _body: dict[str, Any]) -> func.HttpResponse:
    kind = req.route_params.get("kind", "")
    if kind not in ui.OPTION_KINDS:
        return json_response({"message": f"unknown options kind {kind!r}; expected one of "
                                         f"{', '.join(ui.OPTION_KINDS)}"}, 404)
    return json_response(runtime().issue_links.options(kind, req.params))


@bp.function_name("alert_rule_action")
@bp.route(route=ALERT_RULE_ACTION_ROUTE, methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@_answered
def alert_rule_action(req: func.HttpRequest, body: dict[str, Any]) -> func.HttpResponse:
    return json_response({"message": runtime().issue_links.check_alert_settings(
        body.get("fields", body.get("settings")))})


def _answer(link: Any, status: int) -> func.HttpResponse:
    """Sentry shows ``project#identifier`` on the issue and links to ``webUrl``."""
    return json_response({"webUrl": link.work_item_url, "project": link.ado_project,
                          "identifier": str(link.work_item_id)}, status)


@bp.function_name("issue_link_create")
@bp.route(route=ISSUE_LINK_CREATE_ROUTE, methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@_answered
def issue_link_create(req: func.HttpRequest, body: dict[str, Any]) -> func.HttpResponse:
    request = ui.parse_ui_request(body)
    link, created = runtime().issue_links.create(request, ui.parse_create_form(request.fields),
                                                 parse_choices(request.fields))
    return _answer(link, 201 if created else 200)


@bp.function_name("issue_link_link")
@bp.route(route=ISSUE_LINK_LINK_ROUTE, methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@_answered
def issue_link_link(req: func.HttpRequest, body: dict[str, Any]) -> func.HttpResponse:
    request = ui.parse_ui_request(body)
    return _answer(runtime().issue_links.link(request, ui.parse_link_form(request.fields)), 200)
