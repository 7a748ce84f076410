"""Which commits a deployment carries: from the commit last deployed to the environment to the new one. Pure.

``commitsbatch`` with ``itemVersion = OLD`` and ``compareVersion = NEW`` lists ``git log OLD..NEW``
(reference §2.1). With no previous deploy there is no lower bound, so a first deploy takes the newest
``first_deploy_commits`` of NEW's history instead of the whole repository.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Reason = Literal["first-deploy", "range", "redeploy"]


@dataclass(frozen=True)
class CommitRange:
    old: str | None  # excluded; None = no lower bound
    new: str
    limit: int  # most commits to collect
    reason: Reason

    @property
    def empty(self) -> bool:
        return self.reason == "redeploy"

    def describe(self) -> str:
        if self.reason == "first-deploy":
            return f"first deploy: the newest {self.limit} commits of {self.new}'s history"
        if self.reason == "redeploy":
            return f"{self.new} was already the last deployed commit: no new commits"
        return f"commits in {self.new} and not in {self.old} (at most {self.limit})"


def decide_range(previous: str | None, new: str, first_deploy_commits: int, max_commits: int) -> CommitRange:
    """The range to list; SHAs compare case-insensitively (ADO answers lower-case hex)."""
    if not new:
        raise ValueError("the deployed commit (build sourceVersion) is empty")
    if previous is None:
        return CommitRange(None, new, first_deploy_commits, "first-deploy")
    if previous.lower() == new.lower():
        return CommitRange(previous, new, 0, "redeploy")
    return CommitRange(previous, new, max_commits, "range")
