"""A stateful sentry.io emulator for tests and demos (see ``emulator`` for the API it serves)."""
