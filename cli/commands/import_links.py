"""`sentry-ado import-links [--dry-run] [--json]`: adopt the links Sentry's built-in Azure DevOps
integration already made, so moving to sentry-ado keeps each issue's work item (and its history).

What Sentry exposes of them: an issue search ``is:linked`` finds the issues with any linked
external issue (``linked_filter`` in getsentry/sentry src/sentry/search/snuba/backend.py), and
``GET /api/0/organizations/{org}/issues/{id}/integrations/`` lists the organization's issue
integrations with the ``externalIssues`` each linked to that issue; for the built-in Azure DevOps
integration (provider ``vsts``) each one's ``key`` is the work item id and ``url`` is
``<account URL>_workitems/edit/<id>`` (GroupIntegrationsEndpoint in
src/sentry/integrations/api/endpoints/group_integrations.py, ``get_issue_url`` in
src/sentry/integrations/vsts/issues.py).

Each pair in a routed Sentry project whose work item is in our organization is linked exactly as
the issue page's "Link work item" form links it (both sides' current values become the synced
baseline; the work item gets a Hyperlink back), and the work item is shown on the Sentry issue
through our integration. Pairs already linked are left alone, so running it twice changes nothing.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

NAME = "import-links"
HELP = "adopt the work items Sentry's built-in Azure DevOps integration linked to issues (--dry-run first)"
BUILTIN_PROVIDER = "vsts"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="list what would be linked; change nothing")
    parser.add_argument("--json", action="store_true", help="print {linked, skipped, pairs: [...]} as JSON")


@dataclass
class Pair:
    issue_id: str
    short_id: str
    work_item_id: int
    outcome: str  # linked | would link | skip
    reason: str = ""


def ado_org_name(url: str) -> str:
    """The organization (or collection) an Azure DevOps URL names: ``contoso`` for
    https://contoso.visualstudio.com/, https://dev.azure.com/contoso and a Server .../tfs/contoso."""
    parsed = urlparse(url)
    host = (parsed.hostname or "").lower()
    if host.endswith(".visualstudio.com"):
        return host.split(".", 1)[0]
    segments = [s for s in parsed.path.split("/") if s and s != "_workitems"]
    return (segments[0] if host == "dev.azure.com" and segments else segments[-1] if segments else host).lower()


def builtin_work_items(integrations: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(work item id, the integration's URL for it) of every Azure DevOps item the built-in
    integration linked; keys that are no work item id are left out."""
    found = []
    for integration in integrations:
        if (integration.get("provider") or {}).get("key") != BUILTIN_PROVIDER:
            continue
        for external in integration.get("externalIssues") or []:
            key = str(external.get("key") or "")
            if key.isdigit() and int(key) > 0:
                found.append((int(key), str(external.get("url") or "")))
    return found


def run(args: argparse.Namespace) -> int:
    from shared.runtime import runtime

    rt = runtime()
    settings, rules = rt.config.settings, rt.config.rules
    slugs = {slug for route in rules.routes for slug in route.sentry_projects}
    ids = [p["id"] for p in rt.sentry.list_projects() if p.get("slug") in slugs]
    ours = ado_org_name(settings.ado_org_url)
    pairs: list[Pair] = []
    for issue in rt.sentry.iter_issues(query="is:linked", project_ids=ids) if ids else []:
        issue_id, short = str(issue["id"]), str(issue.get("shortId") or issue["id"])
        for work_item_id, url in builtin_work_items(rt.sentry.issue_integrations(issue_id)):
            pairs.append(_adopt(rt, issue_id, short, work_item_id, url, ours, args.dry_run))
    linked = sum(p.outcome in ("linked", "would link") for p in pairs)
    if args.json:
        print(json.dumps({"dry_run": args.dry_run, "linked": linked, "skipped": len(pairs) - linked,
                          "pairs": [vars(p) for p in pairs]}, indent=2))
        return 0
    for p in pairs:
        print(f"{p.outcome:<10} {p.short_id} <-> work item {p.work_item_id}" + (f": {p.reason}" if p.reason else ""))
    verb = "would be linked" if args.dry_run else "linked"
    print(f"{len(pairs)} built-in link(s) found: {linked} {verb}, {len(pairs) - linked} skipped")
    return 0


def _adopt(rt: Any, issue_id: str, short: str, work_item_id: int, url: str, ours: str, dry_run: bool) -> Pair:
    from shared.actions import LinkExternalIssue
    from shared.issue_link import FormError, LinkConflict, UiRequest

    pair = Pair(issue_id, short, work_item_id, "skip")
    if url and ado_org_name(url) != ours:
        pair.reason = f"the work item is in the Azure DevOps organization {ado_org_name(url)!r}, not {ours!r}"
        return pair
    current = rt.store.get_by_issue(rt.config.settings.sentry_org, issue_id)
    if current is not None and current.is_linked:
        pair.reason = ("already linked" if current.work_item_id == work_item_id
                       else f"already linked to work item {current.work_item_id}")
        return pair
    if dry_run:
        pair.outcome = "would link"
        return pair
    request = UiRequest(issue_id=issue_id, installation_id="", web_url="", sentry_project="", fields={})
    try:
        link = rt.issue_links.link(request, work_item_id)
    except (FormError, LinkConflict) as exc:
        pair.reason = str(exc)
        return pair
    installation = rt.syncer.installation_uuid()
    if installation and link.work_item_url:
        rt.syncer.apply_actions([LinkExternalIssue(installation, issue_id, link.work_item_url, link.ado_project,
                                                   str(work_item_id))], link)
    pair.outcome = "linked"
    return pair
