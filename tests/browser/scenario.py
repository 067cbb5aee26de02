"""A realistic half hour of a team's Claude Code sessions: two machines, five sessions, tool calls
with durations, a failed test run, a permission request still waiting, a finished CI session.

Timestamps count back from `now`, so the sessions are "active" and the events-per-minute chart
is filled when the page shows them. Used by the screenshot (docs/dashboard.png) and its test.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

ALICE = {"machine": "alice-mbp", "user": "alice"}
CI = {"machine": "ci-runner-07", "user": "ci"}


@dataclass
class Session:
    session_id: str
    project: str
    source: dict[str, str]
    cwd: str
    clock: datetime
    events: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def emit(self, name: str, after_ms: float = 0, **data: Any) -> dict[str, Any]:
        self.clock += timedelta(milliseconds=after_ms)
        event = {
            "timestamp": self.clock.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "event": name,
            "sessionId": self.session_id,
            "source": {**self.source, "project": self.project},
            "data": {"cwd": self.cwd, **data},
        }
        self.events.append(event)
        return event

    def tool(
        self, tool: str, tool_input: dict[str, Any], took_ms: float, *, after_ms: float = 900, fail: str | None = None
    ) -> str:
        """PreToolUse, then PostToolUse (or PostToolUseFailure) `took_ms` later, paired by tool_use_id."""
        tool_use_id = f"toolu_01{self.session_id[:6]}{next(self._ids):04d}"
        self.emit("PreToolUse", after_ms, tool_name=tool, tool_input=tool_input, tool_use_id=tool_use_id)
        if fail is None:
            self.emit(
                "PostToolUse",
                took_ms,
                tool_name=tool,
                tool_input=tool_input,
                tool_use_id=tool_use_id,
                tool_response={"success": True},
            )
        else:
            self.emit(
                "PostToolUseFailure",
                took_ms,
                tool_name=tool,
                tool_input=tool_input,
                tool_use_id=tool_use_id,
                error=fail,
            )
        return tool_use_id


def realistic_events(now: datetime | None = None) -> list[dict[str, Any]]:
    now = now or datetime.now(UTC)
    sessions: list[Session] = []

    # alice-mbp, shop-api: a feature with a failing test run, fixed, then done.
    api = Session(
        "4f3c2a1e-9b7d-4e21-a0c3-5d8e6f7a1b2c",
        "shop-api",
        ALICE,
        "/Users/alice/src/shop-api",
        now - timedelta(minutes=26),
    )
    api.emit("SessionStart", source="startup", model="claude-sonnet-4-5")
    api.emit("UserPromptSubmit", 4000, prompt="Add cursor pagination to GET /orders and update the tests")
    api.tool("Read", {"file_path": "src/orders/routes.py"}, 42)
    api.tool("Grep", {"pattern": "def list_orders", "path": "src"}, 310)
    api.tool("Read", {"file_path": "tests/orders/test_routes.py"}, 38, after_ms=2500)
    api.clock += timedelta(minutes=3)
    api.tool("Edit", {"file_path": "src/orders/routes.py"}, 95, after_ms=14000)
    api.tool("Edit", {"file_path": "src/orders/pagination.py"}, 71, after_ms=9000)
    api.tool(
        "Bash",
        {"command": "pytest tests/orders -q", "description": "Run the orders tests"},
        8430,
        fail="Exit code 1: 1 failed, 23 passed (test_cursor_round_trip)",
    )
    api.clock += timedelta(minutes=2)
    api.tool("Read", {"file_path": "tests/orders/test_pagination.py"}, 35, after_ms=6000)
    api.tool("Edit", {"file_path": "src/orders/pagination.py"}, 88, after_ms=11000)
    api.clock += timedelta(minutes=4)
    api.tool("Bash", {"command": "pytest tests/orders -q", "description": "Run the orders tests"}, 7910)
    api.tool("Bash", {"command": "git diff --stat"}, 120)
    api.emit("Stop", 2500, stop_hook_active=False)
    api.clock = now - timedelta(minutes=9)
    api.emit("UserPromptSubmit", prompt="Also document the cursor parameter in the OpenAPI file")
    api.tool("Read", {"file_path": "docs/openapi.yaml"}, 51)
    api.tool("Edit", {"file_path": "docs/openapi.yaml"}, 102, after_ms=12000)
    api.emit("Stop", 3000, stop_hook_active=False)
    sessions.append(api)

    # alice-mbp, infra: waiting on a permission request right now.
    infra = Session(
        "a71d0c55-2e8b-4f6a-9d13-7c4b2e9f0a86", "infra", ALICE, "/Users/alice/src/infra", now - timedelta(minutes=7)
    )
    infra.emit("SessionStart", source="resume")
    infra.emit("UserPromptSubmit", 3000, prompt="Roll the staging database to the new instance class")
    infra.tool("Read", {"file_path": "staging/rds.tf"}, 44)
    infra.tool("Edit", {"file_path": "staging/rds.tf"}, 83, after_ms=8000)
    infra.tool("Bash", {"command": "terraform plan -out plan.bin"}, 21400, after_ms=2000)
    infra.emit(
        "PermissionRequest",
        4000,
        tool_name="Bash",
        tool_input={"command": "terraform apply plan.bin"},
        permission_suggestions=[{"type": "addRules", "behavior": "allow"}],
    )
    infra.emit(
        "Notification", 300, message="Claude needs your permission to use Bash", notification_type="permission_prompt"
    )
    sessions.append(infra)

    # ci-runner-07, shop-web: a CI session that fixed the lint job and ended.
    web = Session(
        "c2e94b10-77f1-4a0e-8d5c-31b6f0e2d4a9", "shop-web", CI, "/home/ci/work/shop-web", now - timedelta(minutes=23)
    )
    web.emit("SessionStart", source="startup")
    web.emit("UserPromptSubmit", 1500, prompt="The lint job fails on main: fix it without changing behaviour")
    web.tool("Bash", {"command": "npm run lint"}, 12340, fail="Exit code 1: 3 problems (3 errors, 0 warnings)")
    web.tool("Read", {"file_path": "src/components/Cart.tsx"}, 29)
    web.tool("Edit", {"file_path": "src/components/Cart.tsx"}, 64, after_ms=7000)
    web.tool("Read", {"file_path": "src/hooks/useCheckout.ts"}, 31)
    web.tool("Edit", {"file_path": "src/hooks/useCheckout.ts"}, 58, after_ms=6000)
    web.tool("Bash", {"command": "npm run lint"}, 11820)
    web.tool("Bash", {"command": "npm test -- --run"}, 26500)
    web.emit("Stop", 2000, stop_hook_active=False)
    web.emit("SessionEnd", 500, reason="other")
    sessions.append(web)

    # ci-runner-07, docs-site: a subagent researching, one fetch still running.
    docs = Session(
        "e8b3f6d2-4c19-4b7a-8e05-9a2d1c7f3b64", "docs-site", CI, "/home/ci/work/docs-site", now - timedelta(minutes=14)
    )
    docs.emit("SessionStart", source="startup")
    docs.emit("UserPromptSubmit", 2000, prompt="Update the hooks page for the new PermissionDenied event")
    docs.emit("SubagentStart", 3000, agent_id="agent-7f2c", agent_type="general-purpose")
    docs.tool("WebFetch", {"url": "https://code.claude.com/docs/en/hooks", "prompt": "List every hook event"}, 1870)
    docs.tool("Glob", {"pattern": "content/hooks/**/*.md"}, 160, after_ms=4000)
    docs.tool("Read", {"file_path": "content/hooks/events.md"}, 33)
    docs.emit("SubagentStop", 2500, agent_id="agent-7f2c", agent_type="general-purpose")
    docs.clock += timedelta(minutes=5)
    docs.tool("Edit", {"file_path": "content/hooks/events.md"}, 120, after_ms=9000)
    docs.emit(
        "PermissionDenied",
        3000,
        tool_name="Bash",
        tool_input={"command": "git push origin main"},
        reason="Pushing to main is denied by policy",
    )
    docs.clock = now - timedelta(seconds=75)
    docs.tool(
        "Bash",
        {"command": "npm run build", "description": "Build the site"},
        14230,
        fail="Exit code 1: content/hooks/events.md: broken link to #permissiondenied",
    )
    docs.tool("Edit", {"file_path": "content/hooks/events.md"}, 76, after_ms=15000)
    docs.emit(
        "PreToolUse",
        8000,
        tool_name="Bash",
        tool_input={"command": "npm run build", "description": "Build the site"},
        tool_use_id="toolu_01e8b3f6running",
    )
    sessions.append(docs)

    # alice-mbp, shop-api (an older session from this morning), for the "recent" list.
    old = Session(
        "0b9e7a43-d5c2-4f18-b6a7-e3f1c2d0a958", "shop-api", ALICE, "/Users/alice/src/shop-api", now - timedelta(hours=3)
    )
    old.emit("SessionStart", source="startup")
    old.emit("UserPromptSubmit", 2000, prompt="Why is the orders endpoint slow?")
    old.tool("Grep", {"pattern": "SELECT .* FROM orders"}, 290)
    old.emit("Stop", 4000, stop_hook_active=False)
    old.emit("SessionEnd", 1000, reason="prompt_input_exit")
    sessions.append(old)

    events = [event for session in sessions for event in session.events]
    return sorted(events, key=lambda event: event["timestamp"])
