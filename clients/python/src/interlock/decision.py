"""The decision object of POST /v1/runs/{run_id}/calls and GET /v1/calls/{call_id}."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional


@dataclass(frozen=True)
class Decision:
    decision: str
    code: str
    reason: str = ""
    rule: str = ""
    tool: str = ""
    agent_id: str = ""
    call_id: str = ""
    run_id: str = ""
    approval_id: str = ""
    approval_url: str = ""
    pending: bool = False
    existing_call: bool = False
    retry_after_s: Optional[float] = None
    run: Dict[str, Any] = field(default_factory=dict)
    # Set when a reviewer edited the arguments before approving: the arguments to run the
    # tool with (``guard`` passes them to ``fn`` instead of the ones given).
    arguments: Optional[Dict[str, Any]] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"

    @property
    def approval_required(self) -> bool:
        return self.decision == "approval_required"

    @property
    def denied(self) -> bool:
        return not self.allowed and not self.approval_required

    @classmethod
    def from_json(cls, body: Any, tool: str = "") -> "Decision":
        """Builds a Decision; anything malformed is a deny (fail closed), never an allow."""
        if not isinstance(body, dict):
            return cls("deny", "INVALID_RESPONSE", "the daemon's answer is not a JSON object",
                       tool=tool)
        verdict = body.get("decision")
        code = body.get("code")
        if verdict not in ("allow", "deny", "approval_required", "rehearsal_required") or \
                not isinstance(code, str):
            return cls("deny", "INVALID_RESPONSE",
                       "the daemon's answer has no valid decision", tool=tool, raw=body)
        if verdict == "allow" and code != "ALLOWED":
            verdict = "deny"  # an allow must say ALLOWED; anything else is not trusted

        def s(key: str) -> str:
            v = body.get(key)
            return v if isinstance(v, str) else ""

        ra = body.get("retry_after_s")
        arguments = body.get("arguments")
        if "arguments" in body and not isinstance(arguments, dict):
            arguments = None
            if verdict == "allow":
                # Fail closed: an edit we cannot read must not run the original arguments.
                return cls("deny", "INVALID_RESPONSE",
                           "the decision's edited arguments are not a JSON object",
                           tool=s("tool") or tool, raw=body)
        return cls(
            decision=verdict,
            code=code,
            reason=s("reason"),
            rule=s("rule"),
            tool=s("tool") or tool,
            agent_id=s("agent_id"),
            call_id=s("call_id"),
            run_id=s("run_id"),
            approval_id=s("approval_id"),
            approval_url=s("approval_url"),
            pending=body.get("pending") is True,
            existing_call=body.get("existing_call") is True,
            retry_after_s=ra if isinstance(ra, (int, float)) and not isinstance(ra, bool) else None,
            run=body.get("run") if isinstance(body.get("run"), dict) else {},
            arguments=arguments,
            raw=body,
        )
