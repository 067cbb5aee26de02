"""install / uninstall: merge our hook into Claude Code's settings.json, theirs untouched."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hook import claude_events_hook as hook_module
from tests.hook.conftest import HookEnv, hook_input

THEIRS: dict[str, Any] = {
    "permissions": {"allow": ["Bash(npm test)"], "deny": ["Read(./.env)"]},
    "env": {"FOO": "bar"},
    "hooks": {
        "PreToolUse": [
            {"matcher": "Bash", "hooks": [{"type": "command", "command": "/usr/local/bin/check-bash.sh", "timeout": 5}]}
        ],
        "Stop": [{"hooks": [{"type": "command", "command": "say done"}]}],
        "SomeFutureEvent": [{"hooks": [{"type": "http", "url": "https://example.com/hook"}]}],
    },
    "model": "opus",
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path


def settings_file(home: Path, content: dict[str, Any] | None = THEIRS) -> Path:
    path = home / ".claude" / "settings.json"
    if content is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2) + "\n")
    return path


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".bak-*"))


def ours(settings: dict[str, Any], event: str) -> list[dict[str, Any]]:
    return [
        hook
        for group in settings["hooks"].get(event, [])
        for hook in group.get("hooks", [])
        if "claude_events_hook" in hook.get("command", "") or "claude-events-hook" in hook.get("command", "")
    ]


def install(*args: str) -> int:
    return hook_module.main(["install", *args])


def test_install_adds_ours_for_every_event_and_keeps_theirs(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = settings_file(home)
    original = path.read_bytes()

    assert install("--url", "https://events.example.com/v1", "--token-env", "TEAM_EVENTS_TOKEN") == 0

    settings = json.loads(path.read_text())
    for event in hook_module.HOOK_EVENTS:
        [hook] = ours(settings, event)
        assert hook["type"] == "command"
        assert hook["async"] is True
        assert "--url https://events.example.com/v1/api/claude-events" in hook["command"]
        assert "--token-env TEAM_EVENTS_TOKEN" in hook["command"]
    assert settings["hooks"]["PreToolUse"][0] == THEIRS["hooks"]["PreToolUse"][0]
    assert settings["hooks"]["Stop"][0] == THEIRS["hooks"]["Stop"][0]
    assert settings["hooks"]["SomeFutureEvent"] == THEIRS["hooks"]["SomeFutureEvent"]
    assert {key: settings[key] for key in ("permissions", "env", "model")} == {
        key: THEIRS[key] for key in ("permissions", "env", "model")
    }
    [backup] = backups(path)
    assert backup.read_bytes() == original
    assert f"33 events in {path}" in capsys.readouterr().out


def test_install_again_changes_nothing(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = settings_file(home)
    assert install() == 0
    after_first = path.read_bytes()

    assert install() == 0

    assert path.read_bytes() == after_first
    assert len(backups(path)) == 1
    assert "nothing changed" in capsys.readouterr().out


def test_install_with_another_url_updates_ours_in_place(home: Path) -> None:
    path = settings_file(home)
    assert install("--url", "https://one.example.com") == 0
    assert install("--url", "https://two.example.com") == 0

    settings = json.loads(path.read_text())
    for event in hook_module.HOOK_EVENTS:
        [hook] = ours(settings, event)
        assert "two.example.com" in hook["command"]
    assert len(backups(path)) == 2


def test_uninstall_removes_only_ours(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = settings_file(home)
    assert install() == 0

    assert hook_module.main(["uninstall"]) == 0

    assert json.loads(path.read_text()) == THEIRS
    assert len(backups(path)) == 2
    assert "removed 33" in capsys.readouterr().out
    assert hook_module.main(["uninstall"]) == 0
    assert "nothing changed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"hooks": {"PreToolUse": [', "is not valid JSON"),
        ("[1, 2]", "holds a JSON list, not an object"),
        ('{"hooks": []}', '"hooks" is not an object'),
        ('{"hooks": {"Stop": {"command": "x"}}}', '"hooks.Stop" is not a list of objects'),
    ],
    ids=["truncated", "array", "hooks-list", "event-object"],
)
@pytest.mark.parametrize("command", ["install", "uninstall"])
def test_malformed_settings_are_left_untouched(
    home: Path, capsys: pytest.CaptureFixture[str], text: str, message: str, command: str
) -> None:
    path = settings_file(home, None)
    path.parent.mkdir(parents=True)
    path.write_text(text)
    stat = path.stat()

    assert hook_module.main([command]) == 1

    assert path.read_text() == text
    assert path.stat().st_mtime_ns == stat.st_mtime_ns
    assert backups(path) == []
    error = capsys.readouterr().err
    assert message in error
    assert str(path) in error
    assert "nothing changed" in error


def test_project_install_writes_the_projects_settings(home: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()

    assert install("--project", str(project)) == 0

    path = project / ".claude" / "settings.json"
    settings = json.loads(path.read_text())
    assert set(settings["hooks"]) == set(hook_module.HOOK_EVENTS)
    assert backups(path) == []  # nothing to back up
    assert not (home / ".claude" / "settings.json").exists()


def test_a_command_without_our_marker_is_refused(home: Path) -> None:
    path = settings_file(home)

    assert install("--command", "python3 /opt/other-hook.py") == 1

    assert json.loads(path.read_text()) == THEIRS


def test_the_installed_command_delivers_events(hook_env: HookEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command written into settings.json, run through a shell as Claude Code runs it."""
    monkeypatch.setenv("HOME", str(hook_env.home))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    assert install("--url", hook_env.endpoint.url) == 0
    settings = json.loads((hook_env.home / ".claude" / "settings.json").read_text())
    [hook] = ours(settings, "PostToolUse")

    result = hook_env.run(hook_input(session="installed-1"), command=["/bin/sh", "-c", hook["command"]])

    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert hook_env.endpoint.sessions() == ["installed-1"]


def test_the_installed_command_imports_neither_json_nor_urllib(hook_env: HookEnv) -> None:
    """The foreground's cost is Python's start-up plus a few file operations: json alone costs more."""
    command = hook_module.hook_command().replace("sys.exit(h.main())", "h.main();print(sorted(sys.modules))")
    env = {"CLAUDE_EVENTS_HOOK_FOREGROUND": "", "CLAUDE_EVENTS_URL": "http://127.0.0.1:9"}

    result = hook_env.run(hook_input(session="light"), command=["/bin/sh", "-c", command], extra_env=env)

    modules = result.stdout.decode()
    assert result.returncode == 0
    for heavy in ("'json'", "'urllib", "'re'", "'argparse'", "'typing'", "'socket'", "'subprocess'"):
        assert heavy not in modules, heavy
    assert len(hook_env.spool) == 1


def test_hook_command_quotes_awkward_paths() -> None:
    command = hook_module.hook_command("/opt/my python/bin/python3", "/home/o'neil/hook $dir")
    [argv] = [subprocess.run(["/bin/sh", "-c", f"printf '%s\\n' {command}"], capture_output=True, check=True)]  # noqa: S603
    lines = argv.stdout.decode().splitlines()
    assert lines[0] == "/opt/my python/bin/python3"
    assert lines[1:3] == ["-S", "-c"]
    assert "'/home/o\\'neil/hook $dir'" in lines[3] or '"/home/o\'neil/hook $dir"' in lines[3]
