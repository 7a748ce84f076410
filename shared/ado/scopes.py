"""Which personal-access-token scope each call of ours needs. Pure.

Azure DevOps refuses a token that lacks a call's scope with the same 401 TF400813 it gives a wrong
token, naming no scope; so the client names it from the call it made, per the ``security`` of each
operation in Microsoft's REST specs (github.com/MicrosoftDocs/vsts-rest-api-specs, 7.1).
"""

from __future__ import annotations

_READ_ONLY_POSTS = ("/workitemsbatch", "/wiql", "/commitsbatch")


def needed_scope(method: str, path: str) -> str | None:
    """The narrowest scope that admits ``method path``, or None when the call needs none (or we
    do not know it)."""
    route, verb = path.lower(), method.upper()
    writes = verb in ("POST", "PATCH", "PUT", "DELETE") and not route.endswith(_READ_ONLY_POSTS)
    if "/_apis/hooks/" in route:
        return "vso.work (or vso.build / vso.code)"  # any one admits hook subscriptions
    if "/_apis/wit/" in route:
        return "vso.work_write" if writes else "vso.work"
    if "/_apis/build/" in route:
        return "vso.build"
    if "/_apis/git/" in route:
        return "vso.code"
    if "/_apis/release/" in route:
        return "vso.release"
    if route.endswith("/_apis/projects") or "/_apis/projects/" in route:
        return "vso.project"
    if route.endswith("/_apis/identities"):
        return "vso.identity"
    return None
