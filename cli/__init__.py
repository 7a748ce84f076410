"""The `sentry-ado` command line and its cores: developer and operator tools, never deployed.

It sits above the app (it may import functions/, shared/ and sandbox/); nothing deployed imports it.
"""
