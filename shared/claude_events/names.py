"""The names and identifiers events carry, as patterns and sets: no pydantic, cheap to import."""

from __future__ import annotations

import re

# Hook event names Claude Code documents. Unknown names of the same shape are accepted
# unless strict mode is on, because Claude Code keeps adding events.
KNOWN_HOOK_EVENTS: frozenset[str] = frozenset(
    {
        "PreToolUse",
        "PostToolUse",
        "PostToolUseFailure",
        "PostToolBatch",
        "PermissionRequest",
        "PermissionDenied",
        "Notification",
        "UserPromptSubmit",
        "UserPromptExpansion",
        "Stop",
        "StopFailure",
        "SubagentStart",
        "SubagentStop",
        "PreCompact",
        "PostCompact",
        "Elicitation",
        "ElicitationResult",
        "TeammateIdle",
        "TaskCreated",
        "TaskCompleted",
        "Setup",
        "InstructionsLoaded",
        "CwdChanged",
        "FileChanged",
        "ConfigChange",
        "WorktreeCreate",
        "WorktreeRemove",
        "SessionStart",
        "SessionEnd",
        "PreModelSwitch",
        "PostModelSwitch",
        "MessageDisplay",
        "DirectoryAdded",
    }
)

EVENT_NAME_PATTERN = r"^[A-Z][A-Za-z0-9]{0,63}$"
SESSION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@+=/-]{0,127}$"
EVENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"

MAX_EVENT_NAMES = 20
SESSION_ID_RULE = "must be 1-128 characters: letters, digits and . _ : @ + = / -"
EVENT_NAMES_RULE = f"must be up to {MAX_EVENT_NAMES} hook event names, separated by commas"
_SESSION_ID = re.compile(SESSION_ID_PATTERN)
_EVENT_NAME = re.compile(EVENT_NAME_PATTERN)


def is_session_id(text: str) -> bool:
    return _SESSION_ID.fullmatch(text) is not None


def event_names(text: str) -> tuple[str, ...] | None:
    """The distinct names of a comma-separated list (as query strings carry it); None if invalid."""
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",")))
    if len(names) > MAX_EVENT_NAMES or not all(_EVENT_NAME.fullmatch(name) for name in names):
        return None
    return names
