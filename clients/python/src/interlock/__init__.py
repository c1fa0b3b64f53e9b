"""Interlock client: guard an agent's tool calls with the Interlock daemon.

    from interlock import Client, Denied
    client = Client()                      # $INTERLOCK_URL, $INTERLOCK_TOKEN
    with client.run() as run:
        out = run.guard("send_customer_email", args, send_email)
"""
from ._async import AsyncClient, AsyncRun
from ._client import Client, Run, current_run
from .decision import Decision
from .errors import (APIError, ApprovalAborted, ApprovalTimeout, Conflict, Denied,
                     InterlockError, InvalidArguments, InvalidRequest, NoActiveRun, NotFound,
                     PermissionDenied, Unauthenticated, Unavailable)

__version__ = "0.1.0"

__all__ = [
    "APIError", "ApprovalAborted", "ApprovalTimeout", "AsyncClient", "AsyncRun", "Client",
    "Conflict", "Decision", "Denied", "InterlockError", "InvalidArguments", "InvalidRequest",
    "NoActiveRun", "NotFound",
    "PermissionDenied", "Run", "Unauthenticated", "Unavailable", "current_run",
]
