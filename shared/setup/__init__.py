"""Setting the app up against Sentry and Azure DevOps: pure builders for what must exist
(service hook subscriptions, the Sentry integration manifest, the permission checks) and the
one place that turns settings into API clients. The commands in shared/commands/ are the shells.
"""
