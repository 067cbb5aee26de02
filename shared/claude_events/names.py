"""The names and identifiers events carry, as patterns and sets: no pydantic, cheap to import."""

from __future__ import annotations

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
