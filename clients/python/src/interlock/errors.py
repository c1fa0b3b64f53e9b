"""Typed errors. None of them ever carries the token (see _redact in _transport)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # pragma: no cover
    from .decision import Decision


class InterlockError(Exception):
    """Base of every error this library raises."""


class Denied(InterlockError):
    """The call was not allowed: denied by policy, by a reviewer, or not decided in time.

    ``.decision`` is the daemon's last decision for the call. Catching ``Denied`` catches
    every way a tool is kept from running (``ApprovalTimeout`` and ``ApprovalAborted``
    included).
    """

    def __init__(self, decision: "Decision", message: Optional[str] = None):
        self.decision = decision
        super().__init__(
            message or f"{decision.tool or 'call'} denied: {decision.code}: {decision.reason}"
        )


class ApprovalTimeout(Denied):
    """Nobody decided the approval in time: the daemon answered APPROVAL_TIMEOUT, or the
    client's own deadline ran out (then the approval is withdrawn)."""


class ApprovalAborted(Denied):
    """The caller aborted the wait for an approval (the approval is withdrawn)."""


class APIError(InterlockError):
    """The daemon answered with an error status this library does not map to a type."""

    def __init__(self, status: int, code: str, reason: str, method: str = "", path: str = ""):
        self.status = status
        self.code = code
        self.reason = reason
        self.method = method
        self.path = path
        super().__init__(f"{method} {path}: HTTP {status} {code}: {reason}".strip())


class InvalidRequest(APIError):
    """400 on a route that is not a decision (e.g. a malformed result or usage report)."""


class Unauthenticated(APIError):
    """401: the token is missing, malformed, unknown or revoked."""


class PermissionDenied(APIError):
    """403: wrong role, or another agent's run or call."""


class NotFound(APIError):
    """404: unknown run, call or route."""


class Conflict(APIError):
    """409: e.g. a second result for a call, or an Idempotency-Key reused with another body."""


class Unavailable(InterlockError):
    """The daemon could not be reached or answered 503, after bounded retries.

    Never a permission: a guarded tool does not run when this is raised.
    """

    def __init__(self, message: str, attempts: int = 0):
        self.attempts = attempts
        super().__init__(message)


class InvalidArguments(InterlockError, TypeError):
    """The tool's arguments (or a report's output) cannot be sent as JSON; nothing was sent."""


class NoActiveRun(InterlockError):
    """A guarded function was called outside ``client.run()``: it does not run."""
