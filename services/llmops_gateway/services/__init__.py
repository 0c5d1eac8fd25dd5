"""The gateway's services: they decide and return domain results (`domain.results`).

Each is built once by the app factory with what it needs passed to its constructor
(settings values, clients, the other services it calls); none reads settings or the app's
state by itself. A service never returns an HTTP response: the routers render.
"""
