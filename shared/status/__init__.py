"""The operator's view: what the status page and `sentry-ado status` show, recorded as the work
happens (`record`), gathered without a per-link read (`snapshot`) and rendered (`render`, pure)."""
