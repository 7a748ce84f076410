"""Sentry's issue-link UI (create / link a work item from the Sentry issue page) and the
alert-rule action's settings check. Synchronous: Sentry shows our answer to the person.

Routes (the contract, see `sentry-ado manifest`):
- GET  /api/sentry/issue-link/options/{kind}   kind: projects | types | areas | workitems
- POST /api/sentry/issue-link/create            answers {webUrl, project, identifier}
- POST /api/sentry/issue-link/link              answers {webUrl, project, identifier}
- POST /api/sentry/alert-rule-action            answers 200 {message} or 400 {message}
All verify ``Sentry-App-Signature`` (anonymous auth level: Sentry cannot send function keys here).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import azure.functions as func

from functions.responses import answers_json, failure_response, json_response
from shared import issue_link as ui
from shared.config import ConfigError
from shared.intake import check_ui_request
from shared.runtime import runtime

bp = func.Blueprint()
log = logging.getLogger(__name__)


def _verified(req: func.HttpRequest) -> tuple[dict[str, Any] | None, func.HttpResponse | None]:
    s = runtime().config.settings
    verdict = check_ui_request(req.headers, req.get_body(), s.sentry_client_secret.reveal(), s.webhook_max_bytes)
    if verdict.message is None:
        return None, json_response({"message": verdict.detail}, verdict.status)
    return json.loads(verdict.message), None


def _failure(exc: Exception) -> func.HttpResponse:
    """Sentry shows the message in the modal: say what failed, never how we authenticate."""
    if isinstance(exc, LookupError | ValueError) and not isinstance(exc, ConfigError):
        return json_response({"message": str(exc)}, 400)  # a bad form, an unknown issue or work item, a clash
    return failure_response(exc, "message")


@bp.function_name("issue_link_options")
@bp.route(route="sentry/issue-link/options/{kind}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@answers_json("message")
def issue_link_options(req: func.HttpRequest) -> func.HttpResponse:
    _, rejected = _verified(req)
    if rejected:
        return rejected
    kind = req.route_params.get("kind", "")
    if kind not in ui.OPTION_KINDS:
        return json_response({"message": f"unknown options kind {kind!r}; expected one of "
                                         f"{', '.join(ui.OPTION_KINDS)}"}, 404)
    try:
        return json_response(_options(kind, req.params))
    except Exception as exc:  # every failure becomes a message Sentry can show
        return _failure(exc)


def _options(kind: str, params: Any) -> list[dict[str, str]]:
    rt = runtime()
    if kind == "projects":
        return ui.project_options(rt.ado.projects())
    project = ui.dependent_project(params) or _routed_project(params.get("projectSlug"))
    if project is None:
        raise ui.FormError("choose an Azure DevOps project first")
    if kind == "types":
        return ui.type_options(rt.ado.work_item_types(project))
    if kind == "areas":
        return ui.area_options(rt.ado.area_paths(project), params.get("query", ""))
    wanted_id, wiql = ui.search_query(params.get("query", ""))
    if wanted_id is not None:
        return ui.work_item_options(rt.ado.get_work_items([wanted_id]))
    if wiql is None:
        return []
    ids = rt.ado.query_ids(project, wiql, top=ui.MAX_OPTIONS)
    return ui.work_item_options(rt.ado.get_work_items(ids)) if ids else []


def _routed_project(sentry_project: str | None) -> str | None:
    route = runtime().config.rules.route_for(sentry_project or "")
    return route.ado_project if route else None


@bp.function_name("alert_rule_action")
@bp.route(route="sentry/alert-rule-action", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@answers_json("message")
def alert_rule_action(req: func.HttpRequest) -> func.HttpResponse:
    body, rejected = _verified(req)
    if rejected:
        return rejected
    try:
        settings = ui.parse_alert_settings(body.get("fields", body.get("settings")))
        ado = runtime().ado
        projects = [p["name"] for p in ado.projects()]
        types = [t["name"] for t in ado.work_item_types(settings.project)] if settings.project in projects else []
        areas = [o["value"] for o in ui.area_options(ado.area_paths(settings.project))] if types else []
        problems = ui.settings_problems(settings, projects, types, areas)
    except Exception as exc:
        return _failure(exc)
    if problems:
        return json_response({"message": "; ".join(problems)}, 400)
    return json_response({"message": f"Work items will be created in {settings.project} as "
                                     f"{settings.work_item_type}."})


def _answer(link: Any, status: int) -> func.HttpResponse:
    """Sentry shows ``project#identifier`` on the issue and links to ``webUrl``."""
    return json_response({"webUrl": link.work_item_url, "project": link.ado_project,
                          "identifier": str(link.work_item_id)}, status)


@bp.function_name("issue_link_create")
@bp.route(route="sentry/issue-link/create", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@answers_json("message")
def issue_link_create(req: func.HttpRequest) -> func.HttpResponse:
    body, rejected = _verified(req)
    if rejected:
        return rejected
    try:
        request = ui.parse_ui_request(body)
        form = ui.parse_create_form(request.fields)
        link = runtime().syncer.create_from_form(request.issue_id, form.project, form.work_item_type, form.title,
                                                 form.description, form.area_path)
    except Exception as exc:  # every failure becomes a message Sentry can show
        return _failure(exc)
    return _answer(link, 201)


@bp.function_name("issue_link_link")
@bp.route(route="sentry/issue-link/link", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@answers_json("message")
def issue_link_link(req: func.HttpRequest) -> func.HttpResponse:
    body, rejected = _verified(req)
    if rejected:
        return rejected
    try:
        request = ui.parse_ui_request(body)
        link = runtime().syncer.link_existing(request.issue_id, ui.parse_link_form(request.fields))
    except Exception as exc:  # every failure becomes a message Sentry can show
        return _failure(exc)
    return _answer(link, 200)
