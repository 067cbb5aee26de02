"""doctor, Python 3.9, and the small pieces: ULIDs, git remotes, the 400 details, Retry-After."""

from __future__ import annotations

import json
import shutil
import subprocess
from email.utils import formatdate
from pathlib import Path

import pytest
from ulid import ULID

from hook import claude_events_hook as hook_module
from tests.hook.conftest import HookEnv, hook_input
from tests.hook.fake_endpoint import TOKEN


def test_doctor_passes_against_a_working_endpoint(hook_env: HookEnv) -> None:
    result = hook_env.run(args=("doctor",), extra_env={"CLAUDE_EVENTS_WS_URL": hook_env.endpoint.ws_url})

    report = result.stdout.decode()
    assert result.returncode == 0, report
    for check in ("✓ configuration", "✓ health", "✓ send", "✓ read back", "✓ websocket", "✓ spool"):
        assert check in report
    assert "claude:events:history" in report
    assert "(the test event among them)" in report
    assert "all checks passed" in report
    assert TOKEN not in report
    [event] = hook_env.endpoint.stored.values()
    assert event["event"] == "Notification"
    assert event["data"]["message"] == "claude-events doctor"
    assert hook_env.endpoint.ws_connections == 1


@pytest.mark.parametrize(("mode", "failed"), [("down", "✗ health"), ("401", "✗ send"), ("no-url", "✗ configuration")])
def test_doctor_fails_clearly(hook_env: HookEnv, mode: str, failed: str) -> None:
    env = {}
    if mode == "down":
        hook_env.endpoint.down()
    elif mode == "401":
        hook_env.endpoint.up("401")
    else:
        env["CLAUDE_EVENTS_URL"] = ""

    result = hook_env.run(args=("doctor",), extra_env=env)

    report = result.stdout.decode()
    assert result.returncode == 1, report
    assert failed in report
    assert "check(s) failed" in report


def test_doctor_reports_a_websocket_that_refuses(hook_env: HookEnv) -> None:
    bad = hook_env.endpoint.ws_url.replace("/ws", "/nowhere")
    result = hook_env.run(args=("doctor",), extra_env={"CLAUDE_EVENTS_WS_URL": bad})

    assert result.returncode == 1
    assert "✗ websocket" in result.stdout.decode()
    assert "instead of 101" in result.stdout.decode()


def _python39() -> str | None:
    """A Python 3.9 that runs (a pyenv shim may exist and still fail)."""
    candidates = [str(path) for path in sorted(Path.home().glob(".pyenv/versions/3.9*/bin/python3"))]
    candidates += [found for found in [shutil.which("python3.9")] if found]
    for candidate in candidates:
        probe = subprocess.run(  # noqa: S603 - a local interpreter
            [candidate, "-c", "import sys; assert sys.version_info[:2] == (3, 9)"], capture_output=True, check=False
        )
        if probe.returncode == 0:
            return candidate
    return None


PYTHON39 = _python39()


@pytest.mark.skipif(PYTHON39 is None, reason="no Python 3.9 here")
def test_the_hook_runs_on_python_3_9(hook_env: HookEnv) -> None:
    python39 = PYTHON39
    assert python39 is not None
    hook = str(Path(hook_module.__file__))
    result = hook_env.run(hook_input(session="py39"), command=[python39, hook])
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert hook_env.endpoint.sessions() == ["py39"]

    hook_env.endpoint.down()
    assert hook_env.run(hook_input(session="py39-b"), command=[python39, hook]).returncode == 0
    hook_env.endpoint.up()
    for command in ("flush", "status", "doctor"):
        result = hook_env.run(command=[python39, hook, command])
        assert result.returncode == 0, (command, result.stdout, result.stderr)
    sessions = hook_env.endpoint.sessions()
    assert [session for session in sessions if not session.startswith("claude-events-doctor-")] == ["py39", "py39-b"]


# --------------------------------------------------------------------------- units


def test_ulids_are_real_ulids() -> None:
    ms = 1_795_000_000_123
    values = {hook_module.new_ulid(ms) for _ in range(100)}

    assert len(values) == 100  # 80 random bits
    for value in values:
        assert len(value) == 26
        parsed = ULID.from_str(value)
        assert parsed.milliseconds == ms
        assert hook_module.ulid_ms(value) == ms
        assert str(parsed) == value
    assert hook_module.new_ulid(ms) < hook_module.new_ulid(ms + 1)  # sortable by time
    assert hook_module.ulid_ms("not-a-ulid!") is None


@pytest.mark.parametrize(
    ("remote", "repo"),
    [
        ("git@github.com:acme/widgets.git", "github.com/acme/widgets"),
        ("https://github.com/acme/widgets", "github.com/acme/widgets"),
        ("https://alice:tok3n@gitlab.example.com/group/sub/widgets.git", "gitlab.example.com/sub/widgets"),
        ("ssh://git@host.example.com:2222/acme/widgets.git", "host.example.com/acme/widgets"),
        ("/srv/git/widgets.git", "widgets"),
        ("C:\\repos\\widgets", "widgets"),
        ("", ""),
    ],
)
def test_repo_of_remote(remote: str, repo: str) -> None:
    assert hook_module.repo_of_remote(remote) == repo


def test_project_of_a_worktree_reads_the_common_git_dir(tmp_path: Path) -> None:
    main = tmp_path / "main"
    (main / ".git" / "worktrees" / "feature").mkdir(parents=True)
    (main / ".git" / "config").write_text('[remote "upstream"]\n  url = git@github.com:acme/gadgets.git\n')
    (main / ".git" / "worktrees" / "feature" / "commondir").write_text("../..\n")
    feature = tmp_path / "feature"
    (feature / "deep" / "er").mkdir(parents=True)
    (feature / ".git").write_text(f"gitdir: {main / '.git' / 'worktrees' / 'feature'}\n")

    assert hook_module.project_of(str(feature / "deep" / "er")) == {
        "project": "gadgets",
        "repo": "github.com/acme/gadgets",
    }
    assert hook_module.project_of(str(tmp_path / "nowhere")) == {"project": "nowhere"}


def test_json_string_round_trips() -> None:
    text = 'quote " backslash \\ newline \n tab \t bell \x07 unicode é 😀'
    assert json.loads(hook_module.json_string(text)) == text


def test_named_events_reads_the_400_details() -> None:
    answer = {
        "error": "validation_error",
        "details": [
            {"field": "events[2].sessionId", "message": "is required"},
            {"field": "events[2].data", "message": "nests too deep"},
            {"field": "events[0].hook_event_name", "message": "bad"},
            {"field": "events[9].x", "message": "out of range"},
            {"field": "body", "message": "no index"},
        ],
    }
    assert hook_module.named_events(answer, 3) == {
        2: "events[2].sessionId: is required",
        0: "events[0].hook_event_name: bad",
    }
    assert hook_module.named_events(None, 3) == {}


def test_retry_after() -> None:
    assert hook_module.retry_after({"retry-after": "2"}) == 2.0
    assert hook_module.retry_after({"retry-after": "0"}) == 1.0
    assert hook_module.retry_after({"retry-after": "99999"}) == hook_module.MAX_RETRY_AFTER_SECONDS
    import time

    in_30_s = hook_module.retry_after({"retry-after": formatdate(time.time() + 30, usegmt=True)})
    assert in_30_s is not None
    assert 25 < in_30_s <= 31
    assert hook_module.retry_after({"retry-after": "soon"}) is None
    assert hook_module.retry_after({}) is None


def test_config_precedence(tmp_path: Path) -> None:
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps({"url": "https://file.example.com", "token": "from-file", "timeout": 9}))
    environ = {"CLAUDE_EVENTS_CONFIG": str(config_file), "HOME": str(tmp_path)}

    from_file = hook_module.Config({}, environ).load()
    assert (from_file.url, from_file.token, from_file.timeout) == (
        "https://file.example.com/api/claude-events",
        "from-file",
        9.0,
    )
    from_env = hook_module.Config({}, environ | {"CLAUDE_EVENTS_URL": "https://env.example.com"}).load()
    assert from_env.url == "https://env.example.com/api/claude-events"
    assert from_env.token == "from-file"
    from_flags = hook_module.Config(
        {"url": "https://flag.example.com", "token_env": "MY_TOKEN"},
        environ | {"CLAUDE_EVENTS_URL": "https://env.example.com", "MY_TOKEN": "from-my-token"},
    ).load()
    assert (from_flags.url, from_flags.token) == ("https://flag.example.com/api/claude-events", "from-my-token")
    assert from_flags.origin["token"] == "MY_TOKEN"
