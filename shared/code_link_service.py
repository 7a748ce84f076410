"""The shell of stack-trace links: find the frame's file through the code mappings, check that the
repository has it (cached in shared/metadata.py), and say where the person's browser goes.

Sentry shows our link in every in-app frame without asking us first, so the answer is what the
person sees after clicking: a redirect to Azure Repos, or a page saying why there is none (no
mapping covers the file, the file is not on the mapped branch): 404 with ``{"message"}``, never a
5xx. When Azure DevOps does not answer in time the link goes to the file unverified: Azure Repos
then says itself whether it is there.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.ado.errors import AdoError
from shared.code_links import BadLinkRequest, parse_link_request, resolve, source_url
from shared.config import Config
from shared.transport import NetworkError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkAnswer:
    status: int  # 302 to ``location``; 400 or 404 with ``message``
    message: str
    location: str | None = None


class CodeLinks:
    def __init__(self, config: Config, ado: Any, metadata: Any) -> None:
        self.config, self.ado, self.metadata = config, ado, metadata

    def answer(self, params: Mapping[str, str]) -> LinkAnswer:
        try:
            request = parse_link_request(params)
        except BadLinkRequest as exc:
            return LinkAnswer(400, str(exc))
        ours = self.config.settings.sentry_installation_uuid
        if ours and request.installation.lower() != ours.lower():
            return LinkAnswer(404, f"installationId: {request.installation} is not this app's installation")
        found = resolve(self.config.rules.code_mappings, request.sentry_project, request.filename)
        if found is None:
            return LinkAnswer(404, f"no code mapping covers {request.filename!r} of Sentry project "
                                   f"{request.sentry_project!r}: add a [[code_mappings]] table whose stack_root "
                                   "starts this path to the sync rules")
        url = source_url(self.config.settings.ado_org_url, found, request.line)
        m = found.mapping
        try:
            exists = self.metadata.source_file_exists(self.ado, m.ado_project, m.repository, m.branch, found.path)
        except (AdoError, NetworkError) as exc:  # no verdict in time: let Azure Repos tell the person
            log.warning("stack-trace link not verified (%s); linking %s unchecked", exc, found.path)
            return LinkAnswer(302, "not verified: Azure DevOps did not answer", url)
        if not exists:
            return LinkAnswer(404, f"{found.path} is not in repository {m.repository} of {m.ado_project} on branch "
                                   f"{m.branch} (mapped from {request.filename!r}; check the mapping's stack_root "
                                   "and source_root)")
        return LinkAnswer(302, f"{m.repository}:{found.path}", url)
