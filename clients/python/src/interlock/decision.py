"""The decision object of POST /v1/runs/{run_id}/calls and GET /v1/calls/{call_id}."""
from __future__ import annotations

import re
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

    def arguments_to_run(self, args: Dict[str, Any]) -> Dict[str, Any]:
        """The arguments the tool runs with: a reviewer's edit when there is one, else
        ``args`` (the object itself, so a caller can tell the two apart)."""
        return self.arguments if self.arguments is not None else args

    @classmethod
    def from_json(cls, body: Any, tool: str = "", *, run_id: str = "",
                  call_id: str = "") -> "Decision":
        """Builds a Decision; anything malformed is a deny (fail closed), never an allow.

        The one check of a decision envelope in this library (every path that runs a tool
        reads its decision here: ``guard``, ``wait_for_approval``, the adapters, sync and
        async): an ``allow`` that is not complete (see ``allow_problem``) becomes a deny
        ``INVALID_RESPONSE``. ``tool``, ``run_id`` and ``call_id`` are what the caller
        asked about; an allow for anything else is refused."""
        if not isinstance(body, dict):
            return cls("deny", "INVALID_RESPONSE", "the daemon's answer is not a JSON object",
                       tool=tool)
        verdict = body.get("decision")
        code = body.get("code")
        if verdict not in ("allow", "deny", "approval_required", "rehearsal_required") or \
                not isinstance(code, str):
            return cls("deny", "INVALID_RESPONSE",
                       "the daemon's answer has no valid decision", tool=tool, raw=body)

        def s(key: str) -> str:
            v = body.get(key)
            return v if isinstance(v, str) else ""

        problem = ""
        if verdict == "allow":
            problem = allow_problem(body, tool=tool, run_id=run_id, call_id=call_id)
        elif verdict == "approval_required":
            problem = _pending_problem(body, tool=tool, call_id=call_id)
        if problem:
            # Fail closed: the tool runs only on a complete allow for this very call.
            return cls("deny", "INVALID_RESPONSE", f"incomplete {verdict} refused: {problem}",
                       tool=tool or s("tool"), call_id=s("call_id"), raw=body)
        ra = body.get("retry_after_s")
        arguments = body.get("arguments")
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
            arguments=arguments if isinstance(arguments, dict) else None,
            raw=body,
        )


# A call id the daemon hands out (hex today; "call_..." in older stores): safe in a URL path.
_CALL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
# Members only a decision that does not allow carries: an allow with one is contradictory.
_NOT_ON_AN_ALLOW = ("approval", "retry_after_s", "verdict")


def allow_problem(body: Dict[str, Any], *, tool: str = "", run_id: str = "",
                  call_id: str = "") -> str:
    """Why ``body`` (whose ``decision`` is ``"allow"``) is not a complete allow, or "".

    What every allow of the daemon carries (docs/api.md, docs/openapi.yaml ``Decision``):
    ``code`` ``ALLOWED``, a string ``reason`` and ``rule``, the ``tool`` asked about, a
    well-formed ``call_id`` (the polled one on ``GET /v1/calls/{id}``), the run's
    ``run_id`` when the answer names one (``GET /v1/calls`` always does), nothing still
    pending, and ``arguments`` as a JSON object when a reviewer edited the call."""
    if body.get("decision") != "allow" or body.get("code") != "ALLOWED":
        return "an allow must say decision allow and code ALLOWED"
    if not isinstance(body.get("reason"), str) or not isinstance(body.get("rule"), str):
        return "no reason or rule"
    got_call = body.get("call_id")
    if not isinstance(got_call, str) or not _CALL_ID.fullmatch(got_call):
        return "no well-formed call_id"
    if call_id and got_call != call_id:
        return f"the allow is for call {got_call!r}, not {call_id!r}"
    got_tool = body.get("tool")
    if not isinstance(got_tool, str) or not got_tool:
        return "no tool"
    if tool and got_tool != tool:
        return f"the allow is for tool {got_tool!r}, not {tool!r}"
    if "run_id" in body or (call_id and run_id):
        if not isinstance(body.get("run_id"), str) or (run_id and body["run_id"] != run_id):
            return f"the allow is for run {body.get('run_id')!r}, not {run_id!r}"
    if "pending" in body and body["pending"] is not False:
        return "the call is still pending"
    for key in _NOT_ON_AN_ALLOW:
        if key in body:
            return f"an allow carries {key!r}"
    if "arguments" in body and not isinstance(body["arguments"], dict):
        return "the edited arguments are not a JSON object"
    if "arguments" not in body and body.get("rule") == "approval" and \
            "with edited arguments" in body.get("reason", ""):
        return "a grant with edited arguments that carries none"
    for key in ("agent_id", "approval_id", "covered_by"):
        if key in body and not isinstance(body[key], str):
            return f"{key} is not a string"
    return ""


def _pending_problem(body: Dict[str, Any], *, tool: str, call_id: str) -> str:
    """Why an ``approval_required`` answer cannot be waited on: its final allow would be
    checked against the same call and tool."""
    got_call = body.get("call_id")
    if not isinstance(got_call, str) or not _CALL_ID.fullmatch(got_call) or \
            call_id and got_call != call_id:
        return "no well-formed call_id for this call"
    got_tool = body.get("tool")
    if tool and "tool" in body and got_tool != tool:
        return f"the answer is for tool {got_tool!r}, not {tool!r}"
    return ""
