"""`factory serve`: every model's live tiers over HTTP, from one process (a face, like the CLI).

`app` builds the Starlette application, `engine` does the work (which run serves a request,
the recent history per entity, scoring through the same inference component as `factory
predict`, the inference log), `logbook` writes the online log lines, `run` binds the socket
and runs uvicorn, `check` is `factory serve check`. adrs/0026-serving.md
records why Starlette on uvicorn.
"""
