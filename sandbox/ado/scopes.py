"""Personal access token scopes: which a token holds, and whether they admit an operation. Pure.

Each operation's accepted scopes come from the official spec (``security.oauth2``; any one of them
admits the call, e.g. hook subscriptions list ``vso.work``, ``vso.build`` and ``vso.code``). A
broader scope includes the narrower ones of its area, as the PAT dialog's "Read", "Read & write",
"Read, write, & manage" and "Full" levels do (learn.microsoft.com/azure/devops/integrate/get-started/
authentication/oauth#scopes). ``None`` is a full-access token.

A token lacking the scope is refused with 401 and the TF400813 WrappedException, the same answer as
a token the service does not accept: Azure DevOps does not say which scope was missing (reports:
github.com/microsoft/azure-devops-node-api/issues/208, github.com/pulumi/pulumi-azuredevops/issues/68).
"""

from __future__ import annotations

from collections.abc import Iterable

# Each scope, then the scopes it includes (transitively through this table).
_INCLUDES: dict[str, tuple[str, ...]] = {
    "vso.work_full": ("vso.work_write",), "vso.work_write": ("vso.work",),
    "vso.code_full": ("vso.code_manage",), "vso.code_manage": ("vso.code_write",), "vso.code_write": ("vso.code",),
    "vso.code_status": ("vso.code",),
    "vso.build_execute": ("vso.build",),
    "vso.release_manage": ("vso.release_execute",), "vso.release_execute": ("vso.release",),
    "vso.hooks_interact": ("vso.hooks_write",), "vso.hooks_write": ("vso.hooks",),
    "vso.project_manage": ("vso.project_write",), "vso.project_write": ("vso.project",),
}


def expand(scopes: Iterable[str]) -> frozenset[str]:
    """The scopes held, with every narrower scope they include."""
    held: set[str] = set()
    todo = list(scopes)
    while todo:
        scope = todo.pop()
        if scope not in held:
            held.add(scope)
            todo.extend(_INCLUDES.get(scope, ()))
    return frozenset(held)


def admits(token_scopes: frozenset[str] | None, accepted: Iterable[str]) -> bool:
    """Whether a token may call an operation that accepts any of ``accepted`` (none listed: any token)."""
    wanted = tuple(accepted)
    return token_scopes is None or not wanted or any(s in expand(token_scopes) for s in wanted)
