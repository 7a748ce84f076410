"""Azure Pipelines deployments as Sentry releases (with their commits) and deploys.

Pure core: ``rules`` (the ``[releases]`` config), ``deployment`` (event -> Deployment or NoRelease),
``source`` (build -> repository and commit), ``version``, ``commit_range``, ``payloads``, ``markers``,
``explain``. Shell: ``handler.handle_deployment``.

Import the submodules directly: the package itself imports nothing, so loading the config (which
parses ``[releases]`` with ``rules``) never pulls in the API clients on the webhook path.
"""
