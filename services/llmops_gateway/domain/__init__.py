"""Pure logic of the gateway: plain data in, plain data out, no I/O.

Nothing here imports fastapi, starlette, httpx, pymilvus, kubernetes or kopf (an
import-linter contract keeps it so); the routers and clients are the thin shells.
"""
