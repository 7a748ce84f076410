"""`sentry-ado plan`: show what the bridge would do for one webhook body, without doing it.

The shell around shared/planner.py: it reads the body (and optionally the current link, the work
item type's states and the current work item) from files, plans, and prints
``{"actions": [...]}``. Nothing is sent anywhere. Sync rules come from ``SYNC_CONFIG_PATH`` when
set, else sandbox/default-sync.toml. Exit codes: 0 planned (skips included, with their reasons),
2 the body is no webhook at all, or an input file is unreadable or malformed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.config import Config, Secret, Settings, parse_rules
from shared.contract import ADO_DEPLOYMENT_EVENTS
from shared.mapping.identities import AdoIdentity, SentryMember, sentry_members_from_api
from shared.mapping.states import StateMappingError, parse_states
from shared.planner import Remote, WebhookError, parse_webhook, plan
from shared.store.model import Link

NAME = "plan"
HELP = "print the actions one Sentry or ADO webhook body would cause (a dry run)"
DEFAULT_RULES = Path(__file__).resolve().parents[2] / "sandbox" / "default-sync.toml"


class InputError(ValueError):
    """An input file that cannot be used; the message names the file and the problem."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", choices=("sentry", "ado"), help="who sent the webhook")
    parser.add_argument("file", type=Path, help="the webhook body (JSON); '-' reads stdin")
    parser.add_argument("--resource", help="Sentry-Hook-Resource, when the body alone does not tell it")
    parser.add_argument("--link", type=Path, help="the current link (JSON, as the link store saves it)")
    parser.add_argument("--states", type=Path,
                        help="the work item type's states: the REST answer or a list of {name, category}")
    parser.add_argument("--work-item", type=Path, help="the current work item (REST JSON)")
    parser.add_argument("--issue", type=Path, help="the current Sentry issue (REST JSON)")
    parser.add_argument("--members", type=Path,
                        help="the Sentry organization's members (the member list's REST JSON), for assignments")
    parser.add_argument("--identities", type=Path,
                        help="Azure DevOps users: a JSON list of {uniqueName, displayName?, mail?}, for assignments")


def _read_json(path: Path, what: str) -> Any:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{what} {path}: cannot read: {exc.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InputError(f"{what} {path}: not JSON: {exc}") from None


def _settings(env: dict[str, str]) -> Settings:
    """Enough settings to plan: names and URLs only; no secret is needed for a dry run."""
    blank = Secret("")
    return Settings(
        sentry_base_url=env.get("SENTRY_BASE_URL", "https://sentry.io"), sentry_org=env.get("SENTRY_ORG", "example"),
        sentry_token=blank, sentry_client_secret=blank,
        ado_org_url=env.get("ADO_ORG_URL", "https://dev.azure.com/example"), ado_auth="pat", ado_pat=None,
        ado_tenant_id=None, ado_client_id=None, ado_client_secret=None, ado_hook_secret=blank,
        link_store="sqlite", sqlite_path="", storage_connection=None, storage_account=None,
        sync_config_path=env.get("SYNC_CONFIG_PATH"), reconcile_schedule="0 */15 * * * *",
        sentry_installation_uuid=env.get("SENTRY_INSTALLATION_UUID"))


def load_plan_config(env: dict[str, str]) -> Config:
    path = Path(env["SYNC_CONFIG_PATH"]) if env.get("SYNC_CONFIG_PATH") else DEFAULT_RULES
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"sync rules {path}: cannot read: {exc.strerror}") from None
    return Config(_settings(env), parse_rules(text, source=str(path)))


def _remote(args: argparse.Namespace, env: dict[str, str]) -> Remote:
    states: tuple = ()
    if args.states:
        raw = _read_json(args.states, "--states")
        try:
            states = parse_states(raw.get("value", []) if isinstance(raw, dict) else raw)
        except (StateMappingError, TypeError) as exc:
            raise InputError(f"--states {args.states}: {exc}") from None
    work_item = _read_json(args.work_item, "--work-item") if args.work_item else None
    issue = _read_json(args.issue, "--issue") if args.issue else None
    return Remote(now=datetime.now(UTC).isoformat(), work_item=work_item, states=states, issue=issue,
                  installation_uuid=env.get("SENTRY_INSTALLATION_UUID"), sentry_members=_members(args),
                  ado_identities=_identities(args))


def _members(args: argparse.Namespace) -> tuple[SentryMember, ...]:
    if not args.members:
        return ()
    raw = _read_json(args.members, "--members")
    if not isinstance(raw, list) or not all(isinstance(m, dict) for m in raw):
        raise InputError(f"--members {args.members}: expected the member list, a JSON list of member objects")
    return sentry_members_from_api(raw)


def _identities(args: argparse.Namespace) -> tuple[AdoIdentity, ...]:
    if not args.identities:
        return ()
    raw = _read_json(args.identities, "--identities")
    if not isinstance(raw, list) or not all(isinstance(i, dict) and i.get("uniqueName") for i in raw):
        raise InputError(f"--identities {args.identities}: expected a JSON list of {{uniqueName, displayName?, "
                         "mail?}} objects")
    return tuple(AdoIdentity(str(i["uniqueName"]), str(i.get("displayName") or ""), str(i.get("mail") or ""))
                 for i in raw)


def _link(args: argparse.Namespace) -> Link | None:
    if not args.link:
        return None
    raw = _read_json(args.link, "--link")
    try:
        return Link.from_dict(raw)
    except (TypeError, AttributeError) as exc:
        raise InputError(f"--link {args.link}: not a link: {exc}") from None


def run(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    if not env.get("SYNC_CONFIG_PATH"):
        print(f"sentry-ado plan: SYNC_CONFIG_PATH is not set, so these are the SANDBOX's sync rules "
              f"({DEFAULT_RULES.name}), not yours; set SYNC_CONFIG_PATH to plan with your rules", file=sys.stderr)
    try:
        config = load_plan_config(env)
        body = _read_json(args.file, "webhook body")
        if args.resource and args.source == "sentry":
            body = {"resource": args.resource, "body": body}
        event = parse_webhook(args.source, body)
        if event.source == "ado" and event.kind in ADO_DEPLOYMENT_EVENTS:
            return _explain_deployment(event.kind, body, config)
        actions = plan(event, _link(args), _remote(args, env), config)
    except (InputError, WebhookError) as exc:
        print(f"sentry-ado plan: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"event": event.kind, "actions": [a.to_json() for a in actions]}, indent=2))
    return 0


def _explain_deployment(kind: str, body: dict, config: Config) -> int:
    """Deployment events become releases, not work item changes: explain that plan instead."""
    from shared.releases.explain import explain
    from shared.releases.rules import ReleaseRules

    explained = explain(body, config.rules.releases or ReleaseRules())
    print(json.dumps({"event": kind, "deployment": explained}, indent=2))
    return 2 if explained.get("action") == "reject" else 0
