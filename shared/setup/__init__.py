"""Setting the app up against Sentry and Azure DevOps: pure builders for what must exist (service
hook subscriptions, which the timer repairs, and the Sentry integration manifest) and the one place
that turns settings into API clients. The commands in cli/commands/ are the shells.
"""
