"""The Azure DevOps Services emulator: a stateful WSGI app on ``EmulatorApp``.

Every request passes, in order: the journal and faults (base class), authentication (Basic with
the PAT as password, or Bearer; 401 with ``X-TFS-FedAuthRedirect: Suppress``, otherwise 203 with an
HTML sign-in page), api-version presence, and ``spec.check_request`` against the official specs.
Routing is by the matched spec operation, so any casing or optional project segment the real
routes accept is accepted here. State changes are made by the pure functions in ``patch``;
each accepted change appends a revision and fires the matching service hooks.
"""

from __future__ import annotations

import base64
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from markdown_it import MarkdownIt
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.ado import hooks, patch, wiql
from sandbox.ado import server as ado_server
from sandbox.ado.errors import (
    AdoError,
    bad_request,
    missing_api_version,
    throttled,
    unauthorized,
    unsupported_content_type,
    work_item_not_found,
)
from sandbox.ado.identities import Identity, parse_identity
from sandbox.ado.locations import resource_locations
from sandbox.ado.pipeline_routes import PipelineRoutes
from sandbox.ado.processes import FIELDS, ProcessDef, WorkItemTypeDef, fields_of, required_fields
from sandbox.ado.scopes import admits
from sandbox.ado.seed import BRIDGE, DEFAULT_ORG, DEFAULT_TOKEN, PEOPLE, PROJECTS
from sandbox.ado.spec import Operation, check_request
from sandbox.ado.throttling import Meter, Throttling
from sandbox.ado.workitems import (
    Comment,
    Project,
    Revision,
    WorkItem,
    field_changes,
    item_links,
    item_url,
    render_comment,
    render_delete,
    render_fields,
    render_relations,
    render_work_item,
)
from sandbox.core import EmulatorApp, Faults, Webhook, json_response

MAX_BATCH = 200
TENANT = "0b3c4f1e-7a5d-4c2b-9e8f-5a6b7c8d9e0f"  # the Entra ID tenant a Services identity's Domain names
TEST_TIMEOUT_S = 10.0
PROJECTS_PAGE = 100  # Projects - List answers at most this many per call without $top
SIGN_IN_PAGE = ("<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head>"
                "<body><p>Sign in to continue to Azure DevOps.</p></body></html>")
_MARKDOWN = MarkdownIt("commonmark")


@dataclass
class Call:
    """One authenticated API call, decoded: who, which operation, route values, query, body."""

    request: Request
    actor: Identity
    op: Operation
    values: dict[str, str]
    query: dict[str, str]  # keys lower-cased
    body: Any

    def flag(self, name: str) -> bool:
        return self.query.get(name.lower(), "false").lower() == "true"


class AdoEmulator(PipelineRoutes, EmulatorApp):
    """Azure DevOps Services closely enough that a client passing here passes there."""

    service = "ado"

    def __init__(self, org: str | None = None, faults: Faults | None = None,
                 clock: Callable[[], datetime] | None = None, server: bool = False) -> None:
        """``server``: behave as Azure DevOps Server 2022.1 instead of Services (see ``server``):
        ``org`` is then the collection (default ``DefaultCollection``) under ``/tfs``."""
        super().__init__(faults)
        self.server = server
        self.org = org or (ado_server.COLLECTION if server else DEFAULT_ORG)
        self.host = "http://ado.sandbox.invalid"  # replaced by the first request's host
        self._clock = clock or (lambda: datetime.now(UTC))
        self.url_map.add(Rule("/<path:rest>", endpoint=self._route))
        self._state_lock = threading.RLock()
        self.throttle = Meter()  # kept across resets, like the faults
        self._scopes_of_call = threading.local()  # the scopes of the token authenticating this request
        self.reset_state()

    # ----- state -------------------------------------------------------------------------
    def reset_state(self) -> None:
        projects = ado_server.SERVER_PROJECTS if self.server else PROJECTS
        self.projects: dict[str, Project] = {p.name.lower(): p for p in projects}
        self.people: list[Identity] = list(ado_server.SERVER_PEOPLE if self.server else PEOPLE)
        # Server: the Active Directory mail attribute of the accounts that have one
        self.directory_mail: dict[str, str] = dict(ado_server.SERVER_MAIL) if self.server else {}
        self.bridge = ado_server.SERVER_BRIDGE if self.server else BRIDGE
        self.tokens: dict[str, Identity] = {DEFAULT_TOKEN: self.bridge}
        self.token_scopes: dict[str, frozenset[str] | None] = {DEFAULT_TOKEN: None}  # None: full access
        self.items: dict[int, WorkItem] = {}
        self.subscriptions: dict[str, hooks.Subscription] = {}
        self.test_deliveries: list[tuple[dict[str, Any], int | None]] = []  # (payload, status or None)
        self._next_id = 1
        self._next_comment = 1
        self._next_notification = 1
        self._last_time = datetime(2000, 1, 1, tzinfo=UTC)
        self._extra_reset()

    def _extra_reset(self) -> None:
        self._pipelines_reset()

    @property
    def base_url(self) -> str:
        """The organization URL (Services) or the collection URL (Server), as clients configure it."""
        prefix = ado_server.VIRTUAL_DIRECTORY if self.server else ""
        return f"{self.host}{prefix}/{self.org}"

    def now(self) -> str:
        """Strictly increasing UTC timestamps, so ChangedDate orders revisions as on the service."""
        t = max(self._clock(), self._last_time + timedelta(milliseconds=1))
        self._last_time = t
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"

    def add_identity(self, identity: str, mail: str | None = None) -> Identity:
        """Make ``Display Name <email>`` (Server: ``<DOMAIN\\user>``) a member of the organization;
        ``mail`` is a Server account's directory mail attribute."""
        ident = parse_identity(identity)
        with self._state_lock:
            if ident not in self.people:
                self.people.append(ident)
            if mail:
                self.directory_mail[ident.unique_name] = mail
        return ident

    def revoke_token(self, token: str) -> bool:
        """A person revokes a PAT (or it expires): from now on it answers 401, as ADO does."""
        with self._state_lock:
            self.token_scopes.pop(token, None)
            return self.tokens.pop(token, None) is not None

    def add_token(self, token: str, identity: str, scopes: Iterable[str] | None = None) -> Identity:
        """Register a PAT/bearer token that authenticates as ``identity`` (added as a member), with
        the PAT scopes it was created with (``vso.work_write``, ``vso.code``...; None: full access)."""
        if not token:
            raise ValueError("token must not be empty")
        if scopes is not None and (isinstance(scopes, str) or not all(isinstance(x, str) for x in scopes)):
            raise ValueError("scopes must be a list of scope names such as 'vso.work_write'")
        ident = self.add_identity(identity)
        with self._state_lock:
            self.tokens[token] = ident
            self.token_scopes[token] = None if scopes is None else frozenset(scopes)
        return ident

    def project(self, name_or_id: str | None) -> Project:
        key = (name_or_id or "").lower()
        found = self.projects.get(key) or next((p for p in self.projects.values() if p.id == key), None)
        if found is None:
            raise AdoError(404, "ProjectDoesNotExistWithNameException",
                           f"TF200016: The following project does not exist: {name_or_id}. Verify that the "
                           "name of the project is correct and that the project exists on the specified "
                           "Azure DevOps Server.")
        return found

    def work_item(self, wid: int | str, include_deleted: bool = False) -> WorkItem:
        try:
            item = self.items.get(int(wid))
        except (TypeError, ValueError):
            item = None
        if item is None or (item.deleted and not include_deleted):
            raise work_item_not_found(wid)
        return item

    # ----- faults --------------------------------------------------------------------------
    def fault_response(self, kind: str) -> Response:
        """429/503 the way ADO sends them: WrappedException body, Retry-After and X-RateLimit-* headers.

        Header meanings per docs/integrate/concepts/rate-limits.md (reference §3.3). ``Retry-After``
        keeps the configured fraction of a second so tests stay fast; the service sends whole seconds.
        """
        if kind == "rate_limit":
            secs = self.faults.retry_after_s
            return self._error(throttled(), {"Retry-After": f"{secs:g}", "X-RateLimit-Resource": "ATCPU",
                                     "X-RateLimit-Delay": "0.000", "X-RateLimit-Limit": "200",
                                     "X-RateLimit-Remaining": "0",
                                     "X-RateLimit-Reset": str(int(time.time() + max(secs, 1)))})
        if kind == "timeout":
            time.sleep(self.faults.timeout_s)
            return self._error(AdoError(504, "VssServiceException", "The request timed out at the gateway."))
        return self._error(AdoError(503, "VssServiceUnavailableException",
                                    "TF400898: An Internal Error Occurred. The service is temporarily unavailable."))

    # ----- acting as a person (control API) -----------------------------------------------
    def person(self, identity: str | Identity) -> Identity:
        """The member acting: ``Display Name <email>`` (added to the organization if new)."""
        return identity if isinstance(identity, Identity) else self.add_identity(identity)

    def act_create(self, project: str, type_name: str, fields: dict[str, Any], as_: str | Identity) -> WorkItem:
        """Create a work item as a person would in the web UI (rules apply, hooks fire)."""
        return self.create_work_item(project, type_name, _field_ops(fields), self.person(as_))

    def act_update(self, wid: int, fields: dict[str, Any], as_: str | Identity) -> WorkItem:
        """Change fields (State, AssignedTo, Tags...) as a person; ``None`` clears a field."""
        return self.update_work_item(wid, _field_ops(fields), self.person(as_))

    def act_comment(self, wid: int, text: str, as_: str | Identity, fmt: str = "markdown") -> Comment:
        return self.add_comment(wid, text, self.person(as_), fmt)

    def act_edit_comment(self, wid: int, comment_id: int, text: str, as_: str | Identity,
                         fmt: str = "markdown") -> Comment:
        return self.edit_comment(wid, comment_id, text, self.person(as_), fmt)

    def act_delete_comment(self, wid: int, comment_id: int, as_: str | Identity) -> Comment:
        return self.delete_comment(wid, comment_id, self.person(as_))

    def act_delete(self, wid: int, as_: str | Identity) -> dict[str, Any]:
        return self.delete_work_item(wid, self.person(as_))

    def act_restore(self, wid: int, as_: str | Identity) -> dict[str, Any]:
        return self.restore_work_item(wid, self.person(as_))

    def control(self, request: Request, action: str) -> Response:
        """``POST /_sandbox/<action>`` with a JSON body; see ``_control_actions`` for the list."""
        if request.method != "POST":
            return json_response({"error": f"control action {action!r} needs POST"}, 405)
        try:
            body = request.get_json(force=True, silent=True) or {}
            if not isinstance(body, dict):
                raise ValueError("control body must be a JSON object")
            parts = action.split("/")
            result = self._control_action(parts, body)
        except AdoError as err:
            return json_response({"error": err.message, "typeKey": err.type_key}, err.status)
        except KeyError as exc:
            return json_response({"error": f"missing required key {exc.args[0]!r} in the control body"}, 400)
        except (ValueError, TypeError) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(result)

    def _control_action(self, parts: list[str], body: dict[str, Any]) -> Any:
        def who() -> str:
            if not body.get("as"):
                raise ValueError("'as' (the acting person, 'Display Name <email>') is required")
            return str(body["as"])
        if parts == ["workitems"]:
            item = self.act_create(body["project"], body["type"], body.get("fields") or {}, who())
            return render_work_item(item, self.base_url, "all")
        if len(parts) == 3 and parts[0] == "workitems":
            if not parts[1].isdigit():
                raise ValueError(f"work item id must be a number, got {parts[1]!r}")
            wid, verb = int(parts[1]), parts[2]
            if verb == "update":
                return render_work_item(self.act_update(wid, body.get("fields") or {}, who()), self.base_url, "all")
            if verb == "comment":
                comment = self.act_comment(wid, body.get("text", ""), who(), body.get("format", "markdown"))
                return {"id": comment.id, "workItemId": wid}
            if verb in ("edit_comment", "delete_comment"):
                cid = int(body["commentId"])
                comment = (self.act_edit_comment(wid, cid, body.get("text", ""), who(), body.get("format", "markdown"))
                           if verb == "edit_comment" else self.act_delete_comment(wid, cid, who()))
                return {"id": comment.id, "workItemId": wid, "version": comment.version,
                        "isDeleted": comment.is_deleted}
            if verb == "delete":
                return self.act_delete(wid, who())
            if verb == "restore":
                return self.act_restore(wid, who())
        if len(parts) == 3 and parts[0] == "subscriptions" and parts[2] == "status":
            self.set_subscription_status(parts[1], body.get("status", ""))
            return {"id": parts[1], "status": body["status"]}
        if parts == ["throttling"]:
            self.throttle.configure(Throttling.from_json(body))
            return asdict(self.throttle.settings)
        if parts == ["projects"]:
            return self._render_project(self.add_project(body["name"], body.get("process", "Agile")))
        if parts == ["identities"]:
            return {"identity": self.add_identity(body.get("identity", "")).distinct()}
        if parts == ["tokens"]:
            return {"identity": self.add_token(body.get("token", ""), body.get("identity", ""),
                                               body.get("scopes")).distinct()}
        if parts == ["tokens", "revoke"]:
            return {"revoked": self.revoke_token(body.get("token", ""))}
        return self._extra_control(parts, body)

    def _extra_control(self, parts: list[str], body: dict[str, Any]) -> Any:
        if parts == ["git", "push"]:
            return {"commits": self.push_commits(body["project"], body["repository"], body["commits"],
                                                 body.get("branch", "main"))}
        if parts == ["pipelines", "run"]:
            return {"id": self.queue_run(body["project"], body["repository"], body.get("sourceVersion"),
                                         body.get("branch", "main"), body.get("pipeline", "CI"))}
        if len(parts) == 4 and parts[:2] == ["pipelines", "runs"] and parts[3] in ("stage", "complete", "deploy"):
            build_id = int(parts[2])
            if parts[3] == "stage":
                self.complete_stage(build_id, body["stage"], body.get("result", "succeeded"), body.get("displayName"))
            elif parts[3] == "complete":
                self.complete_run(build_id, body.get("result", "succeeded"))
            else:
                self.complete_deployment(build_id, body["environment"], body.get("status", "succeeded"))
            return {"id": build_id}
        raise ValueError(f"unknown control action {'/'.join(parts)!r}")

    # ----- HTTP shell --------------------------------------------------------------------
    def _authenticate(self, request: Request) -> Identity | None:
        self._scopes_of_call.scopes = frozenset()  # no token, no scope, until one is recognised
        header = request.headers.get("Authorization", "")
        scheme, _, credential = header.partition(" ")
        token = ""
        if scheme.lower() == "basic":
            try:
                token = base64.b64decode(credential).decode("utf-8").partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                return None
        elif scheme.lower() == "bearer":
            token = credential.strip()
        if not token:
            return None
        found = None
        for known, ident in list(self.tokens.items()):
            if hmac.compare_digest(known.encode(), token.encode()):
                found = ident
                self._scopes_of_call.scopes = self.token_scopes.get(known)
        return found

    def _route(self, request: Request, rest: str) -> Response:
        self.host = request.host_url.rstrip("/")
        try:
            actor = self._authenticate(request)
            if actor is None:
                if request.headers.get("X-TFS-FedAuthRedirect", "").lower() == "suppress":
                    return self._error(unauthorized(), {"WWW-Authenticate": "Basic realm=\"\"",
                                                        "X-TFS-ProcessId": "sandbox"})
                return Response(SIGN_IN_PAGE, status=203, mimetype="text/html")
            throttle = self.throttle.charge(actor.unique_name)
            if throttle.phase == "blocked":
                return self._error(throttled(), throttle.headers)
            if throttle.delay_s:
                time.sleep(throttle.delay_s)
            try:
                response = self._call(request, actor)
            except AdoError as err:
                response = self._error(err)
            response.headers.update(throttle.headers)
            return response
        except AdoError as err:
            return self._error(err)

    def _error(self, err: AdoError, headers: dict[str, str] | None = None) -> Response:
        return json_response(err.body(), err.status, headers)

    @staticmethod
    def _query(request: Request) -> dict[str, str]:
        query = {k: v for k, v in request.args.items()}
        if not any(k.lower() == "api-version" for k in query):
            for part in request.headers.get("Accept", "").split(";"):
                key, _, value = part.strip().partition("=")
                if key.strip().lower() == "api-version" and value.strip():
                    query["api-version"] = value.strip()
        return query

    def _call(self, request: Request, actor: Identity) -> Response:
        query = self._query(request)
        raw = request.get_data(cache=True)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            raise bad_request("The request body is not valid JSON.") from None
        path = request.path
        if self.server:
            if not path.lower().startswith(ado_server.VIRTUAL_DIRECTORY + "/"):
                raise AdoError(404, "VssResourceNotFoundException", f"No collection at {path}.")
            path = path[len(ado_server.VIRTUAL_DIRECTORY):]
        named = path.lstrip("/").split("/", 1)[0]
        if named.lower() != self.org.lower():
            # Azure DevOps answers an organization that does not exist with 404 (Azure/azure-cli#32897:
            # "an invalid organization name ... the underlying API gives a 404 Not Found").
            raise AdoError(404, "VssResourceNotFoundException",
                           f"No {'collection' if self.server else 'organization'} named '{named}' here.")
        if request.method != "OPTIONS" and "api-version" not in query and "_apis" in path \
                and not path.lower().endswith(("/connectiondata", "/resourceareas")):
            raise missing_api_version(request.method)
        op, problems = check_request(request.method, path, query, request.content_type, body)
        for kind, status in (("route", 404), ("method", 405)):
            if problems and problems[0].kind == kind:
                raise AdoError(status, "VssResourceNotFoundException" if status == 404 else
                               "VssMethodNotAllowedException", problems[0].message)
        assert op is not None
        content = [p for p in problems if p.kind == "content_type"]
        if content:
            accepted = tuple(op.consumes)
            raise unsupported_content_type(request.content_type or "", request.method, accepted)
        if problems:
            key = "PatchOperationFailedException" if "JsonPatch" in json.dumps(
                next((p.get("schema") for p in op.params if p.get("in") == "body"), None)) else "VssServiceException"
            kind = "VssInvalidPreviewVersionException" if problems[0].kind == "api_version" else key
            message = "; ".join(p.message for p in problems)
            if key == "PatchOperationFailedException" and kind == key:
                message = f"You must pass a valid patch document in the body of the request. {message}"
            raise AdoError(400, kind, message)
        if not admits(self._scopes_of_call.scopes, op.scopes):
            raise AdoError(401, "UnauthorizedRequestException",
                           f"TF400813: The user '{actor.id}' is not authorized to access this resource.")
        values = {k: v for k, v in op.pattern.match(path).groupdict().items() if v is not None}  # type: ignore[union-attr]
        call = Call(request, actor, op, values, {k.lower(): v for k, v in query.items()}, body)
        handler = self._handlers().get(op.operation_id)
        if handler is None:
            raise AdoError(501, "VssServiceException",
                           f"{op.operation_id} is in the Azure DevOps specs but not emulated by the sandbox.")
        with self._state_lock:
            result = handler(call)
        return result if isinstance(result, Response) else json_response(result)

    def _handlers(self) -> dict[str, Callable[[Call], Any]]:
        return {
            "Locations_Options": lambda c: {"count": len(resource_locations()), "value": resource_locations()},
            "Locations_Get Connection Data": self._connection_data,
            "Resource Areas_List": self._resource_areas,
            "Projects_List": self._list_projects,
            "Projects_Get": lambda c: self._render_project(self.project(c.values["projectId"]), True),
            "Work Items_Create": self._create,
            "Work Items_Update": self._update,
            "Work Items_Get Work Item": self._get,
            "Work Items_List": self._list,
            "Work Items_Delete": self._delete,
            "Work Items_Get Work Items Batch": self._batch,
            "Updates_List": self._updates,
            "Revisions_List": self._revisions,
            "Recyclebin_Get Deleted Work Item": lambda c: render_delete(self._deleted(c), self.base_url),
            "Recyclebin_Restore Work Item": self._restore,
            "Wiql_Query By Wiql": self._wiql,
            "Comments_Add Comment": self._add_comment,
            "Comments_Add Work Item Comment": self._add_comment,
            "Comments_Get Comments": self._list_comments,
            "Comments_Get Comments Batch": self._list_comments,
            "Comments_Get Comment": self._get_comment,
            "Identities_Read Identities": self._read_identities,
            "Comments_Update Comment": self._update_comment,
            "Comments_Update Work Item Comment": self._update_comment,
            "Comments_Delete": self._delete_comment,
            "Comments Versions_List": self._comment_versions,
            "Comments Versions_Get": self._comment_version,
            "Work Item Types_List": lambda c: self._collection(
                [self._render_type(c, t) for t in self.project(c.values.get("project")).process.types]),
            "Work Item Types_Get": lambda c: self._render_type(c, self._type(c)),
            "Work Item Type States_List": lambda c: self._collection(
                [{"name": s, "color": _color(cat), "category": cat} for s, cat in self._type(c).states]),
            "Work Item Types Field_List": lambda c: self._collection(
                [self._render_type_field(f, c) for f in fields_of(self._type(c))]),
            "Work Item Types Field_Get": self._type_field,
            "Fields_List": lambda c: self._collection([self._render_field(f) for f in FIELDS.values()]),
            "Classification Nodes_Get Root Nodes": self._root_nodes,
            "Classification Nodes_Get": self._node,
            "Subscriptions_List": self._list_subscriptions,
            "Subscriptions_Create": self._create_subscription,
            "Subscriptions_Get": lambda c: hooks.render_subscription(self._subscription(c), self.base_url),
            "Subscriptions_Replace Subscription": self._replace_subscription,
            "Subscriptions_Delete": self._delete_subscription,
            "Notifications_Create": self._test_notification,
            **self._extra_handlers(),
        }

    def _extra_handlers(self) -> dict[str, Callable[[Call], Any]]:
        return self._pipeline_handlers()

    @staticmethod
    def _collection(values: list[Any]) -> dict[str, Any]:
        return {"count": len(values), "value": values}

    # ----- identity, projects, metadata ----------------------------------------------------
    def _connection_data(self, call: Call) -> dict[str, Any]:
        me = call.actor
        user = {"id": me.id, "descriptor": me.descriptor, "subjectDescriptor": me.descriptor,
                "providerDisplayName": me.display_name, "isActive": True,
                "properties": {"Account": {"$type": "System.String", "$value": me.unique_name}},
                "resourceVersion": 2, "metaTypeId": 0}
        return {"authenticatedUser": user, "authorizedUser": user,
                "instanceId": "00000000-0000-0000-0000-0000000000a1",
                "deploymentId": "00000000-0000-0000-0000-0000000000a2",
                "deploymentType": "onPremises" if self.server else "hosted",
                "locationServiceData": {"serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7",
                                        "defaultAccessMappingMoniker": "PublicAccessMapping",
                                        "lastChangeId": 1, "lastChangeId64": 1}}

    def _resource_areas(self, call: Call) -> dict[str, Any]:
        areas = [("5264459e-e5e0-4bd8-b118-0985e68a4ec5", "wit"), ("79134c72-4a58-4b42-976c-04e7115f32bf", "core"),
                 ("965220d5-5bb9-42cf-8d67-9b146df2a5a4", "build"), ("4e080c62-fa21-4fbc-8fef-2a10a2b38049", "git")]
        return self._collection([{"id": i, "name": n, "locationUrl": self.base_url + "/"} for i, n in areas])

    def _render_project(self, p: Project, capabilities: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"id": p.id, "name": p.name, "description": f"{p.process.name} project",
                               "url": f"{self.base_url}/_apis/projects/{p.id}", "state": "wellFormed",
                               "revision": 1, "visibility": "private", "lastUpdateTime": "2024-01-01T00:00:00Z"}
        if capabilities:
            out["capabilities"] = {"processTemplate": {"templateName": p.process.name,
                                                       "templateTypeId": p.process.type_id},
                                   "versioncontrol": {"sourceControlType": "Git"}}
            out["defaultTeam"] = {"id": p.id, "name": f"{p.name} Team"}
        return out

    def add_project(self, name: str, process: str = "Agile") -> Project:
        """A new project on one of the seeded processes (``Agile``, ``Basic``, ``Scrum``...)."""
        processes = ado_server.PROCESSES.values() if self.server else (p.process for p in PROJECTS)
        by_process = {p.name.lower(): p for p in processes}
        if process.lower() not in by_process:
            raise ValueError(f"process must be one of {', '.join(sorted(by_process))}, got {process!r}")
        with self._state_lock:
            if name.lower() in self.projects:
                raise ValueError(f"project {name!r} exists already")
            project = Project(name, by_process[process.lower()], ())
            self.projects[name.lower()] = project
            return project

    def _list_projects(self, call: Call) -> Response:
        """One page, 100 projects unless ``$top`` says otherwise; when more remain, the count
        fetched so far comes back in the ``x-ms-continuationtoken`` header (never in the body) and
        is sent again as ``continuationToken`` (core 7.1 spec: "how many projects already been fetched")."""
        projects = [self._render_project(p) for p in self.projects.values()]
        start = int(call.query.get("continuationtoken") or 0) + int(call.query.get("$skip", 0))
        end = start + int(call.query.get("$top", PROJECTS_PAGE))
        headers = {"x-ms-continuationtoken": str(end)} if end < len(projects) else None
        return json_response(self._collection(projects[start:end]), headers=headers)

    def _type(self, call: Call) -> WorkItemTypeDef:
        process = self.project(call.values.get("project")).process
        name = call.values.get("type", "")
        wit = process.type_named(name)
        if wit is None:
            raise AdoError(404, "WorkItemTypeNotFoundException",
                           f"TF201077: Work item type {name} does not exist in project "
                           f"{call.values.get('project')} or you do not have permission to access it.")
        return wit

    def _render_type(self, call: Call, wit: WorkItemTypeDef) -> dict[str, Any]:
        project = self.project(call.values.get("project"))
        names = [s for s, _ in wit.states]
        return {"name": wit.name, "referenceName": f"{_ref_prefix(project.process)}.{wit.name.replace(' ', '')}",
                "description": wit.description, "color": "CC293D" if wit.name == "Bug" else "009CCC",
                "icon": {"id": f"icon_{wit.name.lower().replace(' ', '_')}"}, "isDisabled": False,
                "fields": [self._render_type_field(f, call, wit) for f in fields_of(wit)],
                "fieldInstances": [self._render_type_field(f, call, wit) for f in fields_of(wit)],
                "states": [{"name": s, "color": _color(c), "category": c} for s, c in wit.states],
                "transitions": {"": [{"to": names[0], "actions": None}],
                                **{s: [{"to": t, "actions": None} for t in names if t != s] for s in names}},
                "url": f"{self.base_url}/{project.id}/_apis/wit/workItemTypes/{wit.name}"}

    def _render_type_field(self, fdef: Any, call: Call, wit: WorkItemTypeDef | None = None) -> dict[str, Any]:
        """As Work Item Types Field lists it: ``alwaysRequired`` and ``defaultValue`` from the type's rules."""
        wit = wit or self._type(call)
        required = required_fields(wit)
        out = {"referenceName": fdef.ref, "name": fdef.name, "alwaysRequired": fdef.ref in required,
               "helpText": "", "url": f"{self.base_url}/_apis/wit/fields/{fdef.ref}"}
        expand = call.query.get("$expand", "none").lower()
        if expand in ("allowedvalues", "all"):
            allowed: list[Any] = list(fdef.allowed)
            if fdef.ref == "System.State":
                allowed = [s for s, _ in wit.states]
            out["allowedValues"] = allowed
        if fdef.ref == "Microsoft.VSTS.Common.Priority":
            out["defaultValue"] = 2
        if required.get(fdef.ref) is not None:
            out["defaultValue"] = required[fdef.ref]
        return out

    def _type_field(self, call: Call) -> dict[str, Any]:
        wanted = call.values.get("field", "").lower()
        for fdef in fields_of(self._type(call)):
            if wanted in (fdef.ref.lower(), fdef.name.lower()):
                return self._render_type_field(fdef, call)
        raise AdoError(404, "WorkItemFieldNotFoundException", f"TF51535: Cannot find field {call.values.get('field')}.")

    def _render_field(self, fdef: Any) -> dict[str, Any]:
        return {"referenceName": fdef.ref, "name": fdef.name, "type": fdef.type, "readOnly": fdef.read_only,
                "isIdentity": fdef.type == "identity", "isPicklist": bool(fdef.allowed), "usage": "workItem",
                "url": f"{self.base_url}/_apis/wit/fields/{fdef.ref}"}

    def _node_json(self, project: Project, group: str, rel: str, depth: int) -> dict[str, Any]:
        children_of = project.areas if group == "area" else project.iterations
        prefix = rel + "\\" if rel else ""
        kids = sorted({c[len(prefix):].split("\\")[0] for c in children_of if c.startswith(prefix) and c != rel})
        name = rel.split("\\")[-1] if rel else project.name
        path = "\\" + "\\".join([project.name, "Area" if group == "area" else "Iteration", *([rel] if rel else [])])
        out: dict[str, Any] = {"id": abs(hash((project.name, group, rel))) % 100000, "name": name,
                               "structureType": group, "hasChildren": bool(kids), "path": path,
                               "url": f"{self.base_url}/{project.id}/_apis/wit/classificationNodes/"
                                      f"{'Areas' if group == 'area' else 'Iterations'}/{rel.replace(chr(92), '/')}"}
        if kids and depth > 0:
            out["children"] = [self._node_json(project, group, prefix + k, depth - 1) for k in kids]
        return out

    def _root_nodes(self, call: Call) -> dict[str, Any]:
        project = self.project(call.values.get("project"))
        depth = int(call.query.get("$depth", 0))
        return self._collection([self._node_json(project, g, "", depth) for g in ("area", "iteration")])

    def _node(self, call: Call) -> dict[str, Any]:
        project = self.project(call.values.get("project"))
        group = {"areas": "area", "iterations": "iteration"}.get(call.values["structureGroup"].lower())
        if group is None:
            raise bad_request(f"structureGroup must be areas or iterations, got '{call.values['structureGroup']}'.")
        rel = call.values.get("path", "").strip("/").replace("/", "\\")
        known = {a.lower(): a for a in (project.areas if group == "area" else project.iterations)}
        if rel and rel.lower() not in known:
            raise AdoError(404, "WorkItemClassificationNodeDoesNotExistException",
                           f"VS402485: The node with path '{rel}' does not exist.")
        return self._node_json(project, group, known.get(rel.lower(), ""), int(call.query.get("$depth", 0)))

    # ----- work items ----------------------------------------------------------------------
    def _context(self, project: Project, wit: WorkItemTypeDef, rev: int | None, bypass: bool) -> patch.PatchContext:
        return patch.PatchContext(wit, project.area_paths(), project.iteration_paths(), tuple(self.people), rev,
                                  bypass, markdown=not self.server)

    def create_work_item(self, project: str, type_name: str, ops: list[dict[str, Any]], actor: Identity,
                         validate_only: bool = False, bypass_rules: bool = False,
                         notify: bool = True) -> WorkItem:
        """Create a work item from a JSON Patch document as ``actor``; fires workitem.created."""
        with self._state_lock:
            proj = self.project(project)
            wit = proj.process.type_named(type_name)
            if wit is None:
                raise AdoError(404, "WorkItemTypeNotFoundException",
                               f"TF201077: Work item type {type_name} does not exist in project {proj.name} or you "
                               "do not have permission to access it.")
            ctx = self._context(proj, wit, None, bypass_rules)
            draft = patch.finish(None, patch.apply_patch(ops, patch.WorkItemDraft({}), ctx), ctx, proj.name)
            item = WorkItem(self._next_id if not validate_only else 0, proj)
            if validate_only:
                item.revisions.append(self._revision(item, None, draft, actor))
                return item
            self._next_id += 1
            self.items[item.id] = item
            self._append(item, draft, actor, notify)
            return item

    def update_work_item(self, wid: int, ops: list[dict[str, Any]], actor: Identity, validate_only: bool = False,
                         bypass_rules: bool = False, notify: bool = True) -> WorkItem:
        """Apply a JSON Patch document as ``actor``; fires workitem.updated (and .commented for History)."""
        with self._state_lock:
            item = self.work_item(wid)
            wit = item.project.process.type_named(item.type_name)
            assert wit is not None
            ctx = self._context(item.project, wit, item.rev, bypass_rules)
            before = patch.WorkItemDraft(dict(item.current.fields), [dict(r) for r in item.current.relations],
                                         dict(item.current.formats))
            draft = patch.finish(before, patch.apply_patch(ops, before, ctx), ctx, item.project.name)
            if validate_only:
                return item
            self._append(item, draft, actor, notify)
            return item

    def _revision(self, item: WorkItem, prev: Revision | None, draft: patch.WorkItemDraft,
                  actor: Identity) -> Revision:
        now = self.now()
        fields = dict(draft.fields)
        fields["System.ChangedDate"] = now
        fields["System.ChangedBy"] = actor
        if prev is None:
            fields.setdefault("System.CreatedDate", now)
            fields.setdefault("System.CreatedBy", actor)
            fields["System.CommentCount"] = 0
        if prev is None or prev.fields.get("System.State") != fields.get("System.State"):
            fields["Microsoft.VSTS.Common.StateChangeDate"] = now
        if draft.history:
            fields["System.CommentCount"] = int(fields.get("System.CommentCount") or 0) + 1
        relations = tuple({**r, "attributes": {**r.get("attributes", {}), "authorizedDate": now,
                                               "resourceCreatedDate": r.get("attributes", {}).get(
                                                   "resourceCreatedDate", now)}}
                          if "resourceCreatedDate" not in r.get("attributes", {}) else r for r in draft.relations)
        return Revision((prev.rev + 1) if prev else 1, fields, relations, dict(draft.formats), draft.history)

    def _append(self, item: WorkItem, draft: patch.WorkItemDraft, actor: Identity, notify: bool,
                comment: Comment | None = None) -> None:
        prev = item.revisions[-1] if item.revisions else None
        revision = self._revision(item, prev, draft, actor)
        item.revisions.append(revision)
        if draft.history and comment is None:
            comment = self._store_comment(item, draft.history, "html", actor, revision)
        if not notify:
            return
        if prev is None:
            self._fire(item, "workitem.created", set(revision.fields), actor)
        else:
            self._fire(item, "workitem.updated", set(field_changes(prev, revision, self.base_url)), actor, prev)
        if comment is not None:
            self._fire(item, "workitem.commented", {"System.History"}, actor, comment=comment)

    def _store_comment(self, item: WorkItem, text: str, fmt: str, actor: Identity, revision: Revision) -> Comment:
        comment = Comment(self._next_comment, item.id, text, fmt, actor,
                          revision.fields["System.ChangedDate"])
        self._next_comment += 1
        item.comments.append(comment)
        return comment

    def _ops_from(self, call: Call) -> list[dict[str, Any]]:
        return call.body if isinstance(call.body, list) else []

    def _expand(self, call: Call) -> str:
        expand = call.query.get("$expand", "none")
        if expand.lower() != "none" and call.query.get("fields"):
            raise AdoError(400, "ConflictingParametersException",
                           "The expand parameter can not be used with the fields parameter.")
        return expand

    def _create(self, call: Call) -> dict[str, Any]:
        item = self.create_work_item(call.values.get("project", ""), call.values["type"], self._ops_from(call),
                                     call.actor, call.flag("validateOnly"), call.flag("bypassRules"),
                                     not call.flag("suppressNotifications"))
        return render_work_item(item, self.base_url, call.query.get("$expand", "all") or "all")

    def _update(self, call: Call) -> dict[str, Any]:
        self._check_project(call, self.work_item(call.values["id"]))
        item = self.update_work_item(int(call.values["id"]), self._ops_from(call), call.actor,
                                     call.flag("validateOnly"), call.flag("bypassRules"),
                                     not call.flag("suppressNotifications"))
        return render_work_item(item, self.base_url, call.query.get("$expand", "all") or "all")

    def _check_project(self, call: Call, item: WorkItem) -> None:
        if call.values.get("project"):
            self.project(call.values["project"])

    def _as_of(self, item: WorkItem, call: Call) -> Revision:
        as_of = call.query.get("asof")
        if not as_of:
            return item.current
        candidates = [r for r in item.revisions if r.fields["System.ChangedDate"] <= as_of.replace("+00:00", "Z")]
        if not candidates:
            raise work_item_not_found(item.id)
        return candidates[-1]

    def _get(self, call: Call) -> dict[str, Any]:
        item = self.work_item(call.values["id"])
        self._check_project(call, item)
        only = call.query["fields"].split(",") if call.query.get("fields") else None
        return render_work_item(item, self.base_url, self._expand(call), only, self._as_of(item, call))

    def _many(self, call: Call, ids: list[Any], fields: list[str] | None, expand: str, policy: str) -> dict:
        if len(ids) > MAX_BATCH:
            raise AdoError(400, "VssServiceException",
                           f"VS403474: You requested {len(ids)} work items which exceeds the limit of {MAX_BATCH}",
                           0, 3000)
        out: list[Any] = []
        for wid in ids:
            try:
                item = self.work_item(wid)
            except AdoError:
                if (policy or "fail").lower() == "omit":
                    out.append(None)
                    continue
                raise
            out.append(render_work_item(item, self.base_url, expand, fields, self._as_of(item, call)))
        return self._collection(out)

    def _list(self, call: Call) -> dict[str, Any]:
        ids = [i for i in call.query.get("ids", "").split(",") if i.strip()]
        fields = call.query["fields"].split(",") if call.query.get("fields") else None
        return self._many(call, ids, fields, self._expand(call), call.query.get("errorpolicy", "fail"))

    def _batch(self, call: Call) -> dict[str, Any]:
        body = call.body or {}
        ids = body.get("ids") or []
        if not ids:
            raise bad_request("The batch request needs a non-empty 'ids' list.", "VssPropertyValidationException")
        expand = body.get("$expand") or "none"
        if expand.lower() != "none" and body.get("fields"):
            raise AdoError(400, "ConflictingParametersException",
                           "The expand parameter can not be used with the fields parameter.")
        if body.get("asOf"):
            call.query["asof"] = body["asOf"]
        return self._many(call, ids, body.get("fields"), expand, body.get("errorPolicy") or "fail")

    def delete_work_item(self, wid: int, actor: Identity, destroy: bool = False) -> dict[str, Any]:
        """Move to the recycle bin (or destroy); fires workitem.deleted."""
        with self._state_lock:
            item = self.work_item(wid)
            item.deleted, item.deleted_by, item.deleted_date = True, actor, self.now()
            result = render_delete(item, self.base_url)
            if destroy:
                del self.items[item.id]
            self._fire(item, "workitem.deleted", set(), actor)
            return result

    def restore_work_item(self, wid: int, actor: Identity) -> dict[str, Any]:
        """Bring a work item back from the recycle bin; fires workitem.restored."""
        with self._state_lock:
            item = self.work_item(wid, include_deleted=True)
            if not item.deleted:
                raise bad_request(f"Work item {wid} is not in the recycle bin.")
            item.deleted = False
            result = render_delete(item, self.base_url)
            self._fire(item, "workitem.restored", set(), actor)
            return result

    def _delete(self, call: Call) -> dict[str, Any]:
        return self.delete_work_item(int(call.values["id"]), call.actor, call.flag("destroy"))

    def _deleted(self, call: Call) -> WorkItem:
        item = self.work_item(call.values["id"], include_deleted=True)
        if not item.deleted:
            raise work_item_not_found(item.id)
        return item

    def _restore(self, call: Call) -> dict[str, Any]:
        if not isinstance(call.body, dict) or call.body.get("isDeleted") is not False:
            raise bad_request("To restore a work item send {\"isDeleted\": false}.")
        return self.restore_work_item(int(call.values["id"]), call.actor)

    def _updates(self, call: Call) -> dict[str, Any]:
        item = self.work_item(call.values["id"])
        out, prev = [], None
        for i, rev in enumerate(item.revisions):
            out.append(self._update_json(item, prev, rev, i + 1 < len(item.revisions)))
            prev = rev
        skip, top = int(call.query.get("$skip", 0)), int(call.query.get("$top", 200))
        return self._collection(out[skip:skip + top])

    def _revisions(self, call: Call) -> dict[str, Any]:
        item = self.work_item(call.values["id"])
        expand = call.query.get("$expand", "none")
        skip, top = int(call.query.get("$skip", 0)), int(call.query.get("$top", 200))
        return self._collection([render_work_item(item, self.base_url, expand, None, r)
                                 for r in item.revisions[skip:skip + top]])

    def _update_json(self, item: WorkItem, prev: Revision | None, rev: Revision, superseded: bool,
                     identities_as: str = "ref") -> dict[str, Any]:
        actor = rev.fields["System.ChangedBy"]
        revised_by = actor.ref(self.base_url)
        revised_by["name"] = actor.distinct()
        url = item_url(item, self.base_url)
        out: dict[str, Any] = {
            "id": rev.rev, "workItemId": item.id, "rev": rev.rev, "revisedBy": revised_by,
            "revisedDate": "9999-01-01T00:00:00Z" if not superseded else rev.fields["System.ChangedDate"],
            "fields": field_changes(prev, rev, self.base_url),
            "_links": {"self": {"href": f"{url}/updates/{rev.rev}"}, "workItemUpdates": {"href": f"{url}/updates"},
                       "parent": {"href": url}, "html": {"href": item_links(item, self.base_url)["html"]["href"]}},
            "url": f"{url}/updates/{rev.rev}"}
        before = {(r["rel"], r["url"]) for r in (prev.relations if prev else ())}
        after = {(r["rel"], r["url"]) for r in rev.relations}
        added = [r for r in rev.relations if (r["rel"], r["url"]) not in before]
        removed = [r for r in (prev.relations if prev else ()) if (r["rel"], r["url"]) not in after]
        if added or removed:
            out["relations"] = {k: v for k, v in (("added", added), ("removed", removed)) if v}
        if identities_as == "string":
            for change in out["fields"].values():
                for k, v in change.items():
                    if isinstance(v, Identity):
                        change[k] = v.distinct()
        return out

    # ----- WIQL ---------------------------------------------------------------------------
    def _wiql(self, call: Call) -> dict[str, Any]:
        project = self.project(call.values["project"]).name if call.values.get("project") else None
        ctx = wiql.QueryContext(project, call.actor.distinct(), call.flag("timePrecision"), self._clock())
        query = wiql.parse((call.body or {}).get("query", ""), ctx)
        rows = [render_fields(i, i.current, self.base_url, "string") for i in self.items.values() if not i.deleted]
        top = int(call.query["$top"]) if call.query.get("$top") else None
        ids = wiql.run(query, rows, top)

        def column(ref: str) -> dict[str, str]:
            return {"referenceName": ref, "name": FIELDS[ref].name, "url": f"{self.base_url}/_apis/wit/fields/{ref}"}
        return {"queryType": "flat", "queryResultType": "workItem", "asOf": self.now(),
                "columns": [column(c) for c in query.columns],
                "sortColumns": [{"field": column(r), "descending": d} for r, d in query.order],
                "workItems": [{"id": i, "url": f"{self.base_url}/_apis/wit/workItems/{i}"} for i in ids]}

    # ----- comments -----------------------------------------------------------------------
    def add_comment(self, wid: int, text: str, actor: Identity, fmt: str = "html") -> Comment:
        """Add a discussion comment as ``actor``: bumps rev, fires workitem.updated + .commented."""
        _check_comment(text, fmt)
        with self._state_lock:
            item = self.work_item(wid)
            draft = patch.WorkItemDraft(dict(item.current.fields), [dict(r) for r in item.current.relations],
                                        dict(item.current.formats), text)
            revision = self._revision(item, item.current, draft, actor)
            comment = self._store_comment(item, text, fmt, actor, revision)
            prev = item.current
            item.revisions.append(revision)
            self._fire(item, "workitem.updated", set(field_changes(prev, revision, self.base_url)), actor, prev)
            self._fire(item, "workitem.commented", {"System.History"}, actor, comment=comment)
            return comment

    def _own_comment(self, item: WorkItem, comment_id: int, actor: Identity) -> Comment:
        for c in item.comments:
            if c.id == comment_id and not c.is_deleted:
                if c.created_by.id != actor.id:
                    raise AdoError(403, "CommentUpdateForbiddenException",
                                   "You can only edit or delete comments that you created.")
                return c
        raise AdoError(404, "CommentNotFoundException", f"Comment {comment_id} does not exist.")

    def _comment_revision(self, item: WorkItem, actor: Identity, count_delta: int = 0) -> str:
        """A comment edit or deletion is a work item revision (ChangedDate moves) that fires no hook."""
        draft = patch.WorkItemDraft(dict(item.current.fields), [dict(r) for r in item.current.relations],
                                    dict(item.current.formats))
        revision = self._revision(item, item.current, draft, actor)
        if count_delta:
            revision.fields["System.CommentCount"] = max(int(revision.fields.get("System.CommentCount") or 0)
                                                         + count_delta, 0)
        item.revisions.append(revision)
        return revision.fields["System.ChangedDate"]

    def edit_comment(self, wid: int, comment_id: int, text: str, actor: Identity, fmt: str = "html") -> Comment:
        """Edit a comment as its author: a new comment version; ADO sends no service hook for it."""
        _check_comment(text, fmt)
        with self._state_lock:
            item = self.work_item(wid)
            comment = self._own_comment(item, comment_id, actor)
            comment.versions.append((comment.version, comment.text, comment.format,
                                     comment.modified_by or comment.created_by,
                                     comment.modified_date or comment.created_date))
            comment.text, comment.format = text, fmt
            comment.version += 1
            comment.modified_by, comment.modified_date = actor, self._comment_revision(item, actor)
            return comment

    def delete_comment(self, wid: int, comment_id: int, actor: Identity) -> Comment:
        """Delete a comment as its author: kept as ``isDeleted`` (listed with includeDeleted); no hook."""
        with self._state_lock:
            item = self.work_item(wid)
            comment = self._own_comment(item, comment_id, actor)
            comment.is_deleted = True
            comment.modified_by, comment.modified_date = actor, self._comment_revision(item, actor, -1)
            return comment

    def _update_comment(self, call: Call) -> dict[str, Any]:
        fmt = "html" if self.server else call.query.get("format", "html").lower()
        item = self.work_item(call.values["workItemId"])
        comment = self.edit_comment(item.id, int(call.values["commentId"]), (call.body or {}).get("text", ""),
                                    call.actor, fmt)
        return self._render_comment(item, comment, call)

    def _delete_comment(self, call: Call) -> None:
        item = self.work_item(call.values["workItemId"])
        self.delete_comment(item.id, int(call.values["commentId"]), call.actor)
        return Response(status=200)

    def _comment_versions(self, call: Call) -> dict[str, Any]:
        item = self.work_item(call.values["workItemId"])
        comment = self._find_comment(item, call.values["commentId"])
        return self._collection(self._versions_of(item, comment))

    def _comment_version(self, call: Call) -> dict[str, Any]:
        item = self.work_item(call.values["workItemId"])
        comment = self._find_comment(item, call.values["commentId"])
        for v in self._versions_of(item, comment):
            if str(v["version"]) == call.values["version"]:
                return v
        raise AdoError(404, "CommentVersionNotFoundException",
                       f"Version {call.values['version']} of comment {comment.id} does not exist.")

    def _find_comment(self, item: WorkItem, comment_id: str) -> Comment:
        for c in item.comments:
            if str(c.id) == comment_id:
                return c
        raise AdoError(404, "CommentNotFoundException", f"Comment {comment_id} does not exist.")

    def _versions_of(self, item: WorkItem, comment: Comment) -> list[dict[str, Any]]:
        current = render_comment(comment, item, self.base_url)
        out = [{**current, "version": version, "text": text, "format": fmt,
                "modifiedBy": by.ref(self.base_url), "modifiedDate": date, "isDeleted": False,
                "url": f"{current['url']}/versions/{version}"}
               for version, text, fmt, by, date in comment.versions]
        return [*out, {**current, "url": f"{current['url']}/versions/{comment.version}"}]

    def _render_comment(self, item: WorkItem, c: Comment, call: Call) -> dict[str, Any]:
        expand = call.query.get("$expand", "none").lower()
        rendered = None
        if expand in ("renderedtext", "renderedtextonly", "all"):
            rendered = _MARKDOWN.render(c.text) if c.format == "markdown" else c.text
        return render_comment(c, item, self.base_url, rendered)

    def _add_comment(self, call: Call) -> dict[str, Any]:
        fmt = call.query.get("format", "html").lower()
        if self.server:
            fmt = "html"  # Server has no Markdown comments: the parameter is ignored, the text kept as HTML
        comment = self.add_comment(int(call.values["workItemId"]), (call.body or {}).get("text", ""), call.actor, fmt)
        return self._render_comment(self.work_item(comment.work_item_id), comment, call)

    def _list_comments(self, call: Call) -> dict[str, Any]:
        item = self.work_item(call.values["workItemId"])
        comments = [c for c in item.comments if call.flag("includeDeleted") or not c.is_deleted]
        if call.query.get("ids"):
            wanted = {int(i) for i in call.query["ids"].split(",") if i.strip().isdigit()}
            comments = [c for c in comments if c.id in wanted]
        if call.query.get("order", "desc").lower() == "desc":
            comments = list(reversed(comments))
        start = int(call.query.get("continuationtoken") or 0)
        top = int(call.query.get("$top") or 200)
        page = comments[start:start + top]
        out = {"totalCount": len(comments), "count": len(page),
               "comments": [self._render_comment(item, c, call) for c in page],
               "url": f"{item_url(item, self.base_url)}/comments"}
        if start + top < len(comments):
            out["continuationToken"] = str(start + top)
            out["nextPage"] = f"{out['url']}?continuationToken={start + top}"
        return out

    def _get_comment(self, call: Call) -> dict[str, Any]:
        item = self.work_item(call.values["workItemId"])
        for c in item.comments:
            if str(c.id) == call.values["commentId"] and (not c.is_deleted or call.flag("includeDeleted")):
                return self._render_comment(item, c, call)
        raise AdoError(404, "CommentNotFoundException", f"Comment {call.values['commentId']} does not exist.")

    # ----- identities (the Identities API: vssps on Services, the collection on Server) ----------
    _SEARCH_FILTERS = ("general", "accountname", "displayname", "mailaddress", "directoryalias")

    def _read_identities(self, call: Call) -> dict[str, Any]:
        search, value = call.query.get("searchfilter", ""), call.query.get("filtervalue", "").strip()
        if not search or not value:
            raise bad_request("Either descriptors, identityIds, subjectDescriptors or searchFilter and filterValue "
                              "must be given.", "ArgumentException")
        if search.lower() not in self._SEARCH_FILTERS:
            raise bad_request(f"searchFilter '{search}' is not a valid IdentitySearchFilter.", "ArgumentException")
        key = value.casefold()
        found = [p for p in self.people if key in self._search_keys(p, search.lower())]
        return self._collection([self._render_identity(p) for p in found])

    def _account(self, person: Identity) -> tuple[str, str, str]:
        """(domain, account, mail) as the directory holds them."""
        if "\\" in person.unique_name:
            domain, account = person.unique_name.split("\\", 1)
            return domain, account, self.directory_mail.get(person.unique_name, "")
        return TENANT, person.unique_name, person.unique_name

    def _search_keys(self, person: Identity, search: str) -> set[str]:
        """What a search filter compares (case-insensitive, whole values): the service's General
        search matches the account, the mail address or the display name."""
        _, account, mail = self._account(person)
        accounts = {person.unique_name.casefold(), account.casefold()}
        mails = {mail.casefold()} if mail else set()
        names = {person.display_name.casefold()}
        return {"accountname": accounts, "directoryalias": {account.casefold()}, "mailaddress": mails,
                "displayname": names}.get(search, accounts | mails | names)

    def _render_identity(self, person: Identity) -> dict[str, Any]:
        domain, account, mail = self._account(person)
        kind = "System.Security.Principal.WindowsIdentity" if self.server else \
            "Microsoft.IdentityModel.Claims.ClaimsIdentity"
        props = {"SchemaClassName": "User", "Domain": domain, "Account": account}
        if mail:
            props["Mail"] = mail
        return {"id": person.id, "descriptor": f"{kind};{domain}\\{account}", "subjectDescriptor": person.descriptor,
                "providerDisplayName": person.display_name, "isActive": True, "isContainer": False,
                "members": [], "memberOf": [], "memberIds": [], "resourceVersion": 2, "metaTypeId": 0,
                "properties": {k: {"$type": "System.String", "$value": v} for k, v in props.items()}}

    # ----- service hooks -------------------------------------------------------------------
    def _subscription(self, call: Call) -> hooks.Subscription:
        sub = self.subscriptions.get(call.values["subscriptionId"].lower())
        if sub is None:
            raise AdoError(404, "SubscriptionNotFoundException",
                           f"Subscription {call.values['subscriptionId']} does not exist.")
        return sub

    def _list_subscriptions(self, call: Call) -> dict[str, Any]:
        filters = {k: call.query.get(k.lower()) for k in ("publisherId", "eventType", "consumerId", "consumerActionId")}
        subs = [s for s in self.subscriptions.values()
                if all(not v or getattr(s, _snake(k)) == v for k, v in filters.items())]
        return self._collection([hooks.render_subscription(s, self.base_url) for s in subs])

    def _new_subscription_id(self) -> str:
        return str(uuid.uuid4())

    def _create_subscription(self, call: Call) -> dict[str, Any]:
        sub = hooks.parse_subscription(call.body, self._new_subscription_id(), call.actor, self.now(),
                                       {p.id for p in self.projects.values()})
        self.subscriptions[sub.id] = sub
        return hooks.render_subscription(sub, self.base_url)

    def _replace_subscription(self, call: Call) -> dict[str, Any]:
        old = self._subscription(call)
        new = hooks.parse_subscription(call.body, old.id, old.created_by, old.created_date,
                                       {p.id for p in self.projects.values()})
        new.modified_by, new.modified_date = call.actor, self.now()
        status = (call.body or {}).get("status")
        new.status = status if status in hooks.STATUSES else "enabled"
        self.subscriptions[old.id] = new
        return hooks.render_subscription(new, self.base_url)

    def _delete_subscription(self, call: Call) -> Response:
        self.subscriptions.pop(self._subscription(call).id)
        return Response(status=204)

    def _test_notification(self, call: Call) -> dict[str, Any]:
        """The subscription dialog's Test button: deliver the event type's canned sample (never
        real data unless asked) to the consumer inputs given, and report how the target answered."""
        body = call.body if isinstance(call.body, dict) else {}
        details = body.get("details") if isinstance(body.get("details"), dict) else {}
        sub_id = str(body.get("subscriptionId") or hooks.NO_SUBSCRIPTION).lower()
        existing = self.subscriptions.get(sub_id)
        if existing is not None and not details.get("consumerInputs"):
            target = existing
        else:
            target = hooks.parse_subscription(details, sub_id, call.actor, self.now(),
                                              {p.id for p in self.projects.values()})
        if call.flag("useRealData"):
            raise bad_request("Testing with real data is not emulated; test with the sample payload.")
        payload = hooks.test_envelope(hooks.sample_event(target.event_type), sub_id, self._next_notification)
        notification_id, self._next_notification = self._next_notification, self._next_notification + 1
        try:
            answer = requests.post(target.consumer_inputs["url"], data=hooks.encode(payload),
                                   headers=hooks.delivery_headers(target), timeout=TEST_TIMEOUT_S)
            status, result = answer.status_code, "succeeded" if answer.ok else "failed"
            response = f"HTTP/1.1 {answer.status_code} {answer.reason}"
        except requests.RequestException as exc:
            status, result, response = None, "failed", f"{type(exc).__name__}"
        self.test_deliveries.append((payload, status))
        return {"id": notification_id, "subscriptionId": sub_id, "eventId": payload["id"],
                "status": "completed", "result": result, "createdDate": self.now(),
                "details": {"eventType": target.event_type, "publisherId": target.publisher_id,
                            "consumerId": target.consumer_id, "consumerActionId": target.consumer_action_id,
                            "response": response,
                            "consumerInputs": hooks.render_subscription(target, self.base_url)["consumerInputs"]}}

    def set_subscription_status(self, sub_id: str, status: str) -> None:
        """Emulate the service (or a user) disabling/enabling a hook."""
        if status not in hooks.STATUSES:
            raise ValueError(f"status must be one of {', '.join(hooks.STATUSES)}, got {status!r}")
        with self._state_lock:
            sub = self.subscriptions.get(sub_id.lower())
            if sub is None:
                raise KeyError(f"no subscription {sub_id!r}")
            sub.status = status

    def _containers(self, project_id: str) -> dict[str, Any]:
        """Services name the collection and the account (organization); Server the collection
        and the server (docs/service-hooks/events.md, "Resource containers")."""
        base = self.base_url + "/"
        outer = ({"server": {"id": "00000000-0000-0000-0000-0000000000b1", "baseUrl": f"{self.host}/tfs/"}}
                 if self.server else {"account": {"id": "00000000-0000-0000-0000-0000000000a1", "baseUrl": base}})
        return {"collection": {"id": "00000000-0000-0000-0000-0000000000c1", "baseUrl": base}, **outer,
                "project": {"id": project_id, "baseUrl": base}}

    def _hook_resource(self, item: WorkItem, event: str, actor: Identity, prev: Revision | None,
                       comment: Comment | None) -> dict[str, Any]:
        if event == "workitem.updated":
            out = self._update_json(item, prev, item.current, False, "string")
            revision = {"id": item.id, "rev": item.rev,
                        "fields": render_fields(item, item.current, self.base_url, "string"),
                        "url": f"{item_url(item, self.base_url)}/revisions/{item.rev}"}
            if item.current.relations:
                revision["relations"] = render_relations(item.current)
            out["revision"] = revision
            return out
        resource_kind = "recycleBin" if event == "workitem.deleted" else "workItems"
        out = {"id": item.id, "rev": item.rev,
               "fields": render_fields(item, item.current, self.base_url, "string"),
               "_links": item_links(item, self.base_url), "url": item_url(item, self.base_url, resource_kind)}
        if item.current.relations:
            out["relations"] = render_relations(item.current)
        if comment is not None:
            out["fields"]["System.History"] = comment.text
            out["commentVersionRef"] = {"commentId": comment.id, "version": comment.version,
                                        "url": f"{item_url(item, self.base_url)}/comments/{comment.id}/versions/"
                                               f"{comment.version}"}
        return out

    def _fire(self, item: WorkItem, event: str, changed: set[str], actor: Identity, prev: Revision | None = None,
              comment: Comment | None = None) -> None:
        fields = render_fields(item, item.current, self.base_url, "string")
        verb = event.split(".", 1)[1]
        title = f"{item.type_name} #{item.id} ({fields.get('System.Title', '')})"
        text = f"{title} {verb} by {actor.display_name}"
        detailed = f"{text}\n\n- Area: {fields.get('System.AreaPath')}\n- State: {fields.get('System.State')}"
        if comment is not None:
            detailed += f"\n- Comment: {comment.text}"
        resource = self._hook_resource(item, event, actor, prev, comment)
        for sub in list(self.subscriptions.values()):
            if hooks.matches(sub, event, item.project.id, fields, changed, comment.text if comment else None):
                self._deliver(sub, event, resource, text, detailed, self._containers(item.project.id))

    def _deliver(self, sub: hooks.Subscription, event: str, resource: dict[str, Any], text: str, detailed: str,
                 containers: dict[str, Any]) -> None:
        body = hooks.envelope(sub, self._next_notification, event, resource, text, detailed, containers, self.now())
        self._next_notification += 1
        sub.notifications.append(body)
        self.webhooks.send(Webhook(sub.consumer_inputs["url"], hooks.encode(body), hooks.delivery_headers(sub)))


def _field_ops(fields: dict[str, Any]) -> list[dict[str, Any]]:
    """A person's edit as JSON Patch: set each field, or remove it when the value is None."""
    if not isinstance(fields, dict) or not fields:
        raise ValueError("'fields' must be a non-empty object of field reference -> value")
    return [{"op": "remove", "path": f"/fields/{ref}"} if value is None else
            {"op": "add" if ref != "System.Tags" else "replace", "path": f"/fields/{ref}", "value": value}
            for ref, value in fields.items()]


def _color(category: str) -> str:
    from sandbox.ado.processes import COLORS
    return COLORS[category]


def _ref_prefix(process: ProcessDef) -> str:
    return "Microsoft.VSTS.WorkItemTypes" if process.parent is None else "Custom"


def _snake(camel: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in camel)


def _check_comment(text: Any, fmt: str) -> None:
    """What the comments API refuses of a new comment and of an edit alike."""
    if fmt not in ("markdown", "html"):
        raise bad_request(f"format must be markdown or html, got '{fmt}'.")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("The comment text must not be empty.", "VssPropertyValidationException")
