"""The hook as Claude Code runs it, against a fake endpoint that is up, down, slow or refusing.

In every case: nothing on stdout, exit code 0, and no event lost.
Most tests send inline (CLAUDE_EVENTS_HOOK_FOREGROUND=1) to be deterministic; the detached
sender, the one Claude Code gets, has tests of its own.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from ulid import ULID

from tests.hook.conftest import HookEnv, hook_input, wait_for
from tests.hook.fake_endpoint import REJECTED_TOOL, TOKEN


def assert_quiet(result) -> None:
    assert result.returncode == 0, result.stderr
    assert result.stdout == b""
    assert result.stderr == b""


def test_up_delivers_the_event_with_id_timestamp_and_source(hook_env: HookEnv) -> None:
    before = datetime.now(UTC)
    result = hook_env.run(hook_input(session="up-1"))

    assert_quiet(result)
    assert hook_env.spool == []
    [event] = hook_env.endpoint.stored.values()
    assert event["event"] == "PostToolUse"
    assert event["sessionId"] == "up-1"
    assert event["data"]["tool_name"] == "Bash"
    assert event["data"]["tool_input"] == {"command": "pytest -q"}
    ulid = ULID.from_str(event["eventId"])  # a real ULID: 48-bit time + 80 random bits
    assert abs((ulid.datetime - before).total_seconds()) < 5
    stamp = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
    assert abs((stamp - ulid.datetime).total_seconds()) < 0.002
    source = event["source"]
    assert source["user"] == "tester"
    assert source["machine"]
    assert source["project"]  # this repository, from its cwd and git
    assert source["client"].startswith("claude-events-hook/")


def test_claude_codes_own_string_source_stays_in_data(hook_env: HookEnv) -> None:
    result = hook_env.run(hook_input("SessionStart", session="start-1", source="resume", model="claude-x"))

    assert_quiet(result)
    [event] = hook_env.endpoint.stored.values()
    assert event["data"]["source"] == "resume"
    assert isinstance(event["source"], dict)


def test_project_and_repo_come_from_git_without_credentials(hook_env: HookEnv) -> None:
    work = hook_env.home / "work" / "widgets"
    (work / ".git").mkdir(parents=True)
    (work / "src").mkdir()
    (work / ".git" / "config").write_text(
        '[core]\n\tbare = false\n[remote "origin"]\n\turl = https://alice:s3cret@github.com/acme/widgets-api.git\n'
    )
    result = hook_env.run(hook_input(session="git-1", cwd=str(work / "src")))

    assert_quiet(result)
    [event] = hook_env.endpoint.stored.values()
    assert event["source"]["project"] == "widgets-api"
    assert event["source"]["repo"] == "github.com/acme/widgets-api"
    assert "s3cret" not in json.dumps(event["source"])


@pytest.mark.parametrize("mode", ["down", "500"])
def test_down_or_500_spools_and_a_later_run_delivers(hook_env: HookEnv, mode: str) -> None:
    endpoint = hook_env.endpoint
    if mode == "down":
        endpoint.down()
    else:
        endpoint.up(mode)

    assert_quiet(hook_env.run(hook_input(session="later-1")))
    assert len(hook_env.spool) == 1
    assert endpoint.stored == {}
    assert ("connection refused" if mode == "down" else "answered 500") in hook_env.log

    endpoint.up()
    time.sleep(0.7)  # past the backoff (CLAUDE_EVENTS_RETRY_MAX_SECONDS=0.5)
    assert_quiet(hook_env.run(hook_input(session="later-2")))

    assert hook_env.spool == []
    assert endpoint.sessions() == ["later-1", "later-2"]
    assert sorted(endpoint.successful_ids()) == sorted(endpoint.stored)


@pytest.mark.parametrize("mode", ["slow", "429", "401"])
def test_slow_throttled_or_refused_spools_and_flush_delivers(hook_env: HookEnv, mode: str) -> None:
    endpoint = hook_env.endpoint
    endpoint.up(mode)
    assert_quiet(hook_env.run(hook_input(session=f"{mode}-1")))

    expected_log = {"slow": "timed out", "429": "answered 429", "401": "token was refused"}
    assert expected_log[mode] in hook_env.log
    assert len(hook_env.spool) == 1  # kept
    if mode != "slow":
        assert hook_env.state()["nextAttempt"] > time.time()  # Retry-After: 1 s; 401: a long backoff

    endpoint.up("up")
    flush = hook_env.run(args=("flush",))

    assert flush.returncode == 0, flush.stdout
    assert b"sent 1 events" in flush.stdout
    assert hook_env.spool == []
    assert endpoint.sessions() == [f"{mode}-1"]  # slow: sent twice (the first answer came too late), kept once
    assert endpoint.successful_ids() == list(endpoint.stored)


def test_a_partial_503_keeps_only_the_events_not_stored(hook_env: HookEnv) -> None:
    endpoint = hook_env.endpoint
    endpoint.down()
    for index in range(3):
        assert_quiet(hook_env.run(hook_input(session=f"partial-{index}")))
    endpoint.up("503partial")

    first = hook_env.run(args=("flush",))

    assert first.returncode == 1  # events left
    assert len(hook_env.spool) == 2
    assert endpoint.sessions() == ["partial-0"]
    [stored_id] = endpoint.stored

    endpoint.up("up")
    assert hook_env.run(args=("flush",)).returncode == 0

    assert endpoint.sessions() == ["partial-0", "partial-1", "partial-2"]
    assert stored_id not in endpoint.successful_ids()  # what the 503 stored is not sent again
    assert hook_env.spool == []


def test_401_backs_off_and_keeps_the_spool(hook_env: HookEnv) -> None:
    hook_env.endpoint.up("401")
    for index in range(3):
        assert_quiet(hook_env.run(hook_input(session=f"auth-{index}")))

    assert len(hook_env.spool) == 3
    posts = [posted for posted in hook_env.endpoint.posts if posted.status == 401]
    assert len(posts) == 1  # one attempt, then a long backoff: not one request per event
    assert hook_env.state()["nextAttempt"] - time.time() > 30


def test_400_drops_the_events_it_names_and_delivers_the_rest(hook_env: HookEnv) -> None:
    endpoint = hook_env.endpoint
    endpoint.down()
    for index, tool in enumerate(["Read", REJECTED_TOOL, "Edit"]):
        assert_quiet(hook_env.run(hook_input(session=f"bad-{index}", tool_name=tool)))
    endpoint.up()

    flush = hook_env.run(args=("flush",))

    assert flush.returncode == 0, flush.stdout
    assert b"dropped 1" in flush.stdout
    assert endpoint.sessions() == ["bad-0", "bad-2"]
    assert hook_env.spool == []
    assert "events[1].data.tool_name: is refused" in hook_env.log


def test_413_splits_the_batch_and_drops_an_event_too_large_alone(hook_env: HookEnv) -> None:
    endpoint = hook_env.endpoint
    endpoint.max_body = 4000
    endpoint.down()
    for index in range(4):
        assert_quiet(hook_env.run(hook_input(session=f"big-{index}", tool_response="x" * 1200)))
    assert_quiet(hook_env.run(hook_input(session="huge", tool_response="y" * 5000)))
    endpoint.up()

    flush = hook_env.run(args=("flush",))

    assert flush.returncode == 0, flush.stdout
    assert endpoint.sessions() == ["big-0", "big-1", "big-2", "big-3"]
    assert any(posted.status == 413 for posted in endpoint.posts)
    assert "refused (413)" in hook_env.log
    assert hook_env.spool == []


def test_spool_is_bounded_oldest_dropped_first_with_a_count(hook_env: HookEnv) -> None:
    endpoint = hook_env.endpoint
    endpoint.down()
    bounded = {"CLAUDE_EVENTS_SPOOL_MAX_EVENTS": "5"}
    for index in range(8):
        assert_quiet(hook_env.run(hook_input(session=f"bound-{index}"), extra_env=bounded))
    endpoint.up()

    flush = hook_env.run(args=("flush",), extra_env=bounded)

    assert flush.returncode == 0, flush.stdout
    assert endpoint.sessions() == [f"bound-{index}" for index in range(3, 8)]
    assert "oldest events" in hook_env.log
    assert hook_env.state()["dropped"] == 3


def test_spool_drops_events_past_the_age_limit(hook_env: HookEnv) -> None:
    hook_env.endpoint.down()
    assert_quiet(hook_env.run(hook_input(session="old-1")))
    time.sleep(1.1)
    hook_env.endpoint.up()

    flush = hook_env.run(args=("flush",), extra_env={"CLAUDE_EVENTS_SPOOL_MAX_AGE_DAYS": "0.00001"})  # 0.86 s

    assert flush.returncode == 0
    assert hook_env.endpoint.stored == {}
    assert "older than" in hook_env.log


@pytest.mark.parametrize(
    ("stdin", "logged"),
    [
        (b"", "empty input"),
        (b"  \n\t ", "empty input"),
        (b"\x00\xffnot json at all", "not a JSON object"),
        (b"[1, 2, 3]", "not a JSON object"),
        (b"{this is not json}", "input is not JSON"),
        (b'{"hello": "world"}', "no hook_event_name"),
        (b'{"hook_event_name": "PreToolUse"}', "session_id is missing"),
        (b'{"hook_event_name": "bad name!", "session_id": "s"}', "not a PascalCase name"),
        (b"{" + b" " * (5 * 1024 * 1024) + b"}", "over the 1048563-byte event limit"),
    ],
    ids=["empty", "blank", "binary", "array", "broken", "no-name", "no-session", "bad-name", "5MB"],
)
def test_bad_input_exits_0_quietly_and_logs_a_line(hook_env: HookEnv, stdin: bytes, logged: str) -> None:
    result = hook_env.run(stdin)

    assert_quiet(result)
    assert logged in hook_env.log
    assert hook_env.endpoint.stored == {}
    assert hook_env.spool == []


def test_neither_token_nor_payload_reach_the_log_or_state(hook_env: HookEnv) -> None:
    secret_prompt = "my-very-private-prompt-text"
    hook_env.endpoint.up("401")
    assert_quiet(hook_env.run(hook_input("UserPromptSubmit", session="secret-1", prompt=secret_prompt)))
    hook_env.endpoint.up("500")
    assert_quiet(hook_env.run(hook_input("UserPromptSubmit", session="secret-2", prompt=secret_prompt)))
    assert_quiet(hook_env.run(b"{broken " + secret_prompt.encode() + b"}"))

    for path in hook_env.state_dir.rglob("*"):
        if path.is_file() and path.suffix != ".ev":
            text = path.read_text(errors="replace")
            assert TOKEN not in text, path
            assert secret_prompt not in text, path
    assert "401" in hook_env.log


def test_status_shows_the_spool_and_the_last_error(hook_env: HookEnv) -> None:
    hook_env.endpoint.down()
    assert_quiet(hook_env.run(hook_input(session="status-1")))

    status = hook_env.run(args=("status",))

    assert status.returncode == 0
    text = status.stdout.decode()
    assert "1 events" in text
    assert "connection refused" in text
    assert "next attempt:" in text
    assert TOKEN not in text


def test_disabled_spools_nothing(hook_env: HookEnv) -> None:
    result = hook_env.run(hook_input(session="off"), extra_env={"CLAUDE_EVENTS_DISABLED": "1"})

    assert_quiet(result)
    assert hook_env.spool == []
    assert hook_env.endpoint.stored == {}


# --------------------------------------------------------------------------- the detached sender


def test_detached_sender_delivers_in_the_background(hook_env: HookEnv) -> None:
    detached = {"CLAUDE_EVENTS_HOOK_FOREGROUND": ""}
    result = hook_env.run(hook_input(session="bg-1"), extra_env=detached)

    assert_quiet(result)
    assert wait_for(lambda: hook_env.endpoint.sessions() == ["bg-1"])
    assert hook_env.sender_idle()
    assert hook_env.spool == []


def test_the_hook_returns_at_once_however_slow_the_endpoint(hook_env: HookEnv) -> None:
    """A slow endpoint (3 s, past the 2.5 s timeout) must not hold the hook, nor its stdout pipe."""
    hook_env.endpoint.up("slow")
    detached = {"CLAUDE_EVENTS_HOOK_FOREGROUND": "", "CLAUDE_EVENTS_TIMEOUT": "2.5"}
    started = time.monotonic()
    result = hook_env.run(hook_input(session="slow-bg"), extra_env=detached)  # waits for EOF on the pipes
    elapsed = time.monotonic() - started

    assert_quiet(result)
    assert elapsed < 2.0, elapsed  # a run takes ~0.1-0.3 s; a sender holding the pipes would take 2.5 s
    assert wait_for(lambda: "timed out" in hook_env.log)  # the sender, in the background
    assert hook_env.sender_idle()
    assert len(hook_env.spool) == 1  # timed out: kept, to be sent again (the server dedupes)


def test_twenty_concurrent_runs_while_down_then_up_lose_and_duplicate_nothing(hook_env: HookEnv) -> None:
    endpoint = hook_env.endpoint
    endpoint.down()
    detached = {"CLAUDE_EVENTS_HOOK_FOREGROUND": ""}
    processes = [hook_env.start(hook_input(session=f"c-{index:02d}"), detached) for index in range(20)]
    for process in processes:
        stdout, stderr = process.communicate(timeout=20)
        assert (process.returncode, stdout, stderr) == (0, b"", b"")
    assert hook_env.sender_idle()
    assert len(hook_env.spool) == 20
    assert endpoint.stored == {}

    endpoint.up()
    time.sleep(0.6)  # past the backoff: the next hook run drains the spool in the background
    assert_quiet(hook_env.run(hook_input(session="c-20"), extra_env=detached))

    expected = [f"c-{index:02d}" for index in range(21)]
    assert wait_for(lambda: endpoint.sessions() == expected), endpoint.sessions()
    assert hook_env.sender_idle()
    assert hook_env.spool == []
    successful = endpoint.successful_ids()
    assert len(successful) == len(set(successful)) == 21  # no eventId sent twice in a successful batch


def test_twenty_concurrent_runs_while_up_each_event_sent_once(hook_env: HookEnv) -> None:
    """Senders start while other runs are still spooling: the lock keeps one sender per spool."""
    endpoint = hook_env.endpoint
    detached = {"CLAUDE_EVENTS_HOOK_FOREGROUND": ""}
    processes = [hook_env.start(hook_input(session=f"u-{index:02d}"), detached) for index in range(20)]
    for process in processes:
        stdout, stderr = process.communicate(timeout=20)
        assert (process.returncode, stdout, stderr) == (0, b"", b"")

    expected = [f"u-{index:02d}" for index in range(20)]
    assert wait_for(lambda: endpoint.sessions() == expected), endpoint.sessions()
    assert hook_env.sender_idle()
    successful = endpoint.successful_ids()
    assert len(successful) == len(set(successful)) == 20
    assert hook_env.spool == []
