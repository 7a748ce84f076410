"""Azure Pipelines deployments as Sentry releases (with their commits) and deploys.

Pure core: ``rules`` (the ``[releases]`` config), ``deployment`` (event -> Deployment or Skip),
``source`` (build -> repository and commit), ``version``, ``commit_range``, ``payloads``, ``markers``,
``explain``. Shell: ``handler.handle_deployment``.
"""

from shared.releases.deployment import DEPLOYMENT_EVENTS, Deployment, DeploymentEventError, Skip, parse_deployment
from shared.releases.explain import explain
from shared.releases.handler import DeploymentBusy, Outcome, handle_deployment
from shared.releases.rules import ReleaseRules, RepositoryRule, parse_release_rules

__all__ = ["DEPLOYMENT_EVENTS", "Deployment", "DeploymentBusy", "DeploymentEventError", "Outcome", "ReleaseRules",
           "RepositoryRule", "Skip", "explain", "handle_deployment", "parse_deployment", "parse_release_rules"]
