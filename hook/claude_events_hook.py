#!/usr/bin/env python3
"""claude-events-hook: send every Claude Code hook event to a Claude Events endpoint.

One file, standard library only, Python 3.9 or later. Claude Code runs it on every hook event
with the event's JSON on stdin. It never makes Claude Code wait and never loses an event:

1. the foreground process reads stdin, stamps the event (a ULID eventId, the time, machine, user
   and working directory) and writes it to the spool directory (one file per event, written then
   renamed into place), starts a detached sender when one is due, and exits 0. It imports
   nothing but os, sys and time: not even json, which costs more than the rest of the run;
2. the detached sender (one at a time, under a lock) turns each spooled input into an event
   (eventId, timestamp, source with machine, user, project and git remote), sends the spool to
   the batch endpoint and deletes what the endpoint stored. When the endpoint is down, slow,
   throttling or refusing, the events stay in the spool and a later run retries after a backoff;
   the same eventId is sent again, so the server keeps one copy.

Nothing is ever written to stdout (Claude Code parses it) and the exit code is always 0 (2 would
block Claude). Problems go to a small log file in the state directory; it never holds a token or
an event's content.

Commands: install, uninstall, doctor, flush, status (`claude-events-hook --help`). Without a
command it is the hook. See docs/hook-client.md.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: every millisecond of the hook counts
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any, BinaryIO

VERSION = "0.1.0"
PROGRAM = "claude-events-hook"
# Our entries in settings.json are the command hooks whose command contains one of these.
MARKERS = ("claude-events-hook", "claude_events_hook")

# Hook event names Claude Code documents (a copy of claude_events.names.KNOWN_HOOK_EVENTS:
# the hook must not import the project).
HOOK_EVENTS = (
    "SessionStart",
    "Setup",
    "InstructionsLoaded",
    "UserPromptSubmit",
    "UserPromptExpansion",
    "PreToolUse",
    "PermissionRequest",
    "PermissionDenied",
    "PostToolUse",
    "PostToolUseFailure",
    "PostToolBatch",
    "Notification",
    "MessageDisplay",
    "SubagentStart",
    "SubagentStop",
    "TaskCreated",
    "TaskCompleted",
    "TeammateIdle",
    "Elicitation",
    "ElicitationResult",
    "PreCompact",
    "PostCompact",
    "PreModelSwitch",
    "PostModelSwitch",
    "CwdChanged",
    "DirectoryAdded",
    "FileChanged",
    "ConfigChange",
    "WorktreeCreate",
    "WorktreeRemove",
    "Stop",
    "StopFailure",
    "SessionEnd",
)

ENDPOINT_PATH = "/api/claude-events"
MAX_BODY_BYTES = 1_048_576  # the endpoint's default request limit (413 above it)
BATCH_ENVELOPE = len(b'{"events":[]}')
MAX_EVENT_BYTES = MAX_BODY_BYTES - BATCH_ENVELOPE
MAX_BATCH_EVENTS = 100
LOG_MAX_BYTES = 256 * 1024  # hook.log is rotated to hook.log.1 past this
SENDER_MAX_SECONDS = 120  # a detached sender stops after this; the next hook run starts another
PRUNE_INTERVAL_SECONDS = 60
STALE_TMP_SECONDS = 3600
FLUSH_LOCK_WAIT_SECONDS = 30
AUTH_RETRY_MIN_SECONDS = 60.0
AUTH_RETRY_MAX_SECONDS = 3600.0
MAX_RETRY_AFTER_SECONDS = 600.0
STDIN_DRAIN_LIMIT = 64 * 1024 * 1024
SPOOL_SUFFIX = ".ev"
SCHEDULE_FILE = "next-attempt"

# name in the config file, environment variable, kind, default
SETTINGS: tuple[tuple[str, str, str, Any], ...] = (
    ("url", "CLAUDE_EVENTS_URL", "str", ""),
    ("token", "CLAUDE_EVENTS_TOKEN", "str", ""),
    ("timeout", "CLAUDE_EVENTS_TIMEOUT", "float", 5.0),
    ("ws_url", "CLAUDE_EVENTS_WS_URL", "str", ""),
    ("spool_max_events", "CLAUDE_EVENTS_SPOOL_MAX_EVENTS", "int", 20_000),
    ("spool_max_mb", "CLAUDE_EVENTS_SPOOL_MAX_MB", "float", 64.0),
    ("spool_max_age_days", "CLAUDE_EVENTS_SPOOL_MAX_AGE_DAYS", "float", 7.0),
    ("retry_min_seconds", "CLAUDE_EVENTS_RETRY_MIN_SECONDS", "float", 2.0),
    ("retry_max_seconds", "CLAUDE_EVENTS_RETRY_MAX_SECONDS", "float", 300.0),
)
URL_ENV = "CLAUDE_EVENTS_URL"
TOKEN_ENV = "CLAUDE_EVENTS_TOKEN"  # noqa: S105 - the name of a variable
STATE_DIR_ENV = "CLAUDE_EVENTS_STATE_DIR"
CONFIG_ENV = "CLAUDE_EVENTS_CONFIG"
FOREGROUND_ENV = "CLAUDE_EVENTS_HOOK_FOREGROUND"
DISABLED_ENV = "CLAUDE_EVENTS_DISABLED"

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_SECRETS: list[str] = []  # redacted from every log line
_JSON_ESCAPES = {code: f"\\u{code:04x}" for code in range(32)}
_JSON_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\"})
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LETTERS = _UPPER + _UPPER.lower()
_ALNUM = _LETTERS + "0123456789"


# --------------------------------------------------------------------------- small helpers


def new_ulid(ms: int | None = None) -> str:
    """A ULID: 48-bit Unix time in milliseconds, then 80 random bits, in Crockford base32."""
    if ms is None:
        ms = time.time_ns() // 1_000_000
    value = ((ms & 0xFFFF_FFFF_FFFF) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def ulid_ms(text: str) -> int | None:
    """The millisecond time of a ULID, or None when text does not start with one."""
    if len(text) < 10:
        return None
    value = 0
    for char in text[:10].upper():
        index = _CROCKFORD.find(char)
        if index < 0:
            return None
        value = (value << 5) | index
    return value


def iso_utc(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def json_string(text: str) -> str:
    """A JSON string literal, without importing json."""
    return '"' + text.translate(_JSON_ESCAPES) + '"'


def fingerprint(text: str) -> str:
    """64-bit FNV-1a, hex: tells settings apart without storing them (or importing hashlib)."""
    value = 0xCBF29CE484222325
    for byte in text.encode("utf-8", "replace"):
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFF_FFFF_FFFF_FFFF
    return f"{value:016x}"


def _is_name(text: Any, first: str, rest: str, longest: int) -> bool:
    return (
        isinstance(text, str)
        and 0 < len(text) <= longest
        and text[0] in first
        and all(char in rest for char in text[1:])
    )


def valid_event_name(text: Any) -> bool:
    return _is_name(text, _UPPER, _ALNUM, 64)


def valid_session_id(text: Any) -> bool:
    return _is_name(text, _ALNUM, _ALNUM + "._:@+=/-", 128)


def valid_event_id(text: Any) -> bool:
    return _is_name(text, _ALNUM, _ALNUM + "._:-", 128)


def valid_source_key(text: Any) -> bool:
    return _is_name(text, _LETTERS, _ALNUM + "_", 32)


def redact(text: str) -> str:
    for secret in _SECRETS:
        if secret:
            text = text.replace(secret, "[token]")
    return text


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_atomic(path: str, data: bytes, mode: int = 0o600) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _remove(path: str) -> bool:
    try:
        os.remove(path)
    except OSError:
        return False
    return True


def _read_json(path: str) -> Any:
    import json  # noqa: PLC0415 - never in the hook's foreground

    with open(path, "rb") as handle:
        return json.loads(handle.read())


def _getcwd() -> str:
    try:
        return os.getcwd()
    except OSError:
        return ""


# --------------------------------------------------------------------------- configuration


class Config:
    """Where things are, and (after load()) the endpoint settings.

    Precedence, per setting: command-line flags (--url, --token-env: what `install` writes into
    settings.json), then environment variables, then the config file, then defaults. The hook's
    foreground reads only the environment; the sender and the commands call load().
    """

    def __init__(self, argv_options: Mapping[str, str], environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.argv_options = dict(argv_options)
        home = os.path.expanduser("~")
        self.config_path = environ.get(CONFIG_ENV) or os.path.join(_config_home(environ, home), "config.json")
        self.state_dir = environ.get(STATE_DIR_ENV) or _state_home(environ, home)
        self.spool_dir = os.path.join(self.state_dir, "spool")
        self.schedule_path = os.path.join(self.spool_dir, SCHEDULE_FILE)
        self.log_path = os.path.join(self.state_dir, "hook.log")
        self.state_path = os.path.join(self.state_dir, "state.json")
        self.lock_path = os.path.join(self.state_dir, "sender.lock")
        self.foreground = environ.get(FOREGROUND_ENV, "") not in ("", "0", "false", "no")
        self.disabled = environ.get(DISABLED_ENV, "") not in ("", "0", "false", "no")
        self.key = self._key()
        # Filled by load():
        self.loaded = False
        self.config_error = ""
        self.origin: dict[str, str] = {}
        self.url = ""
        self.token = ""
        self.timeout = 5.0
        self.ws_url = ""
        self.spool_max_events = 20_000
        self.spool_max_bytes = 64 * 1024 * 1024
        self.spool_max_age = 7 * 86400.0
        self.retry_min = 2.0
        self.retry_max = 300.0
        self.source_extra: dict[str, Any] = {}

    def _key(self) -> str:
        """Changes when the endpoint or the token may have: a backoff earned by the old ones is void."""
        token_env = self.argv_options.get("token_env", "")
        try:
            info = os.stat(self.config_path)
            config_file = f"{info.st_mtime_ns}:{info.st_size}"
        except OSError:
            config_file = "-"
        parts = (
            self.argv_options.get("url", ""),
            token_env,
            self.environ.get(token_env, "") if token_env else "",
            self.environ.get(URL_ENV, ""),
            self.environ.get(TOKEN_ENV, ""),
            config_file,
        )
        return fingerprint("\0".join(parts))

    def load(self) -> Config:
        if self.loaded:
            return self
        self.loaded = True
        file_values = self._file_values()
        values: dict[str, Any] = {}
        for name, variable, kind, default in SETTINGS:
            value, origin = default, "default"
            if file_values.get(name) not in (None, ""):
                value, origin = file_values[name], "config file"
            if self.environ.get(variable, "") != "":
                value, origin = self.environ[variable], variable
            try:
                value = float(value) if kind == "float" else int(value) if kind == "int" else str(value)
            except (TypeError, ValueError):
                self.config_error = self.config_error or f"{origin}: {name} is not a valid {kind}; default used"
                value, origin = default, "default"
            values[name], self.origin[name] = value, origin
        token_env = self.argv_options.get("token_env") or str(file_values.get("token_env") or "")
        if token_env:
            values["token"], self.origin["token"] = self.environ.get(token_env, ""), token_env
        if self.argv_options.get("url"):
            values["url"], self.origin["url"] = self.argv_options["url"], "--url"
        self.url = normalise_url(str(values["url"]))
        self.token = str(values["token"]).strip()
        self.timeout = min(max(float(values["timeout"]), 0.1), 120.0)
        self.ws_url = str(values["ws_url"]).strip()
        self.spool_max_events = max(int(values["spool_max_events"]), 1)
        self.spool_max_bytes = max(int(float(values["spool_max_mb"]) * 1024 * 1024), 1024)
        self.spool_max_age = max(float(values["spool_max_age_days"]), 0.0) * 86400
        self.retry_min = max(float(values["retry_min_seconds"]), 0.0)
        self.retry_max = max(float(values["retry_max_seconds"]), self.retry_min)
        source = file_values.get("source")
        self.source_extra = source if isinstance(source, dict) else {}
        if self.token:
            _SECRETS.append(self.token)
        return self

    def _file_values(self) -> dict[str, Any]:
        try:
            loaded = _read_json(self.config_path)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            self.config_error = f"{self.config_path}: {type(error).__name__}; ignored"
            return {}
        if not isinstance(loaded, dict):
            self.config_error = f"{self.config_path}: not a JSON object; ignored"
            return {}
        return loaded

    @property
    def base_url(self) -> str:
        return self.url[: -len(ENDPOINT_PATH)] if self.url.endswith(ENDPOINT_PATH) else self.url

    def problem(self) -> str:
        """Why events cannot be sent now, or ''."""
        self.load()
        if not self.url:
            return f"no endpoint configured: set {URL_ENV} or url in {self.config_path}"
        if not self.url.startswith(("http://", "https://")):
            return "the endpoint URL must start with http:// or https://"
        if not self.token:
            return f"no token: set {self.argv_options.get('token_env') or TOKEN_ENV} or token in {self.config_path}"
        return ""


def normalise_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if url and not url.endswith(ENDPOINT_PATH):
        url += ENDPOINT_PATH
    return url


def _config_home(environ: Mapping[str, str], home: str) -> str:
    if os.name == "nt":
        return os.path.join(environ.get("APPDATA") or os.path.join(home, "AppData", "Roaming"), "claude-events")
    return os.path.join(environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"), "claude-events")


def _state_home(environ: Mapping[str, str], home: str) -> str:
    if os.name == "nt":
        return os.path.join(environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local"), "claude-events")
    return os.path.join(environ.get("XDG_STATE_HOME") or os.path.join(home, ".local", "state"), "claude-events")


# --------------------------------------------------------------------------- log file


def log(config: Config, message: str, level: str = "info") -> None:
    """One line in hook.log (rotated to hook.log.1 past LOG_MAX_BYTES). Never raises."""
    try:
        line = f"{iso_utc(time.time_ns() // 1_000_000)} {os.getpid()} {level} {message}"
        line = redact(line.replace("\n", " ").replace("\r", " "))[:1000] + "\n"
        os.makedirs(config.state_dir, mode=0o700, exist_ok=True)
        try:
            if os.stat(config.log_path).st_size > LOG_MAX_BYTES:
                os.replace(config.log_path, config.log_path + ".1")
        except OSError:
            pass
        fd = os.open(config.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8", "replace"))
        finally:
            os.close(fd)
    except Exception:  # noqa: S110 - the log is best effort; the hook must not fail on it
        pass


# --------------------------------------------------------------------------- file lock


class FileLock:
    """An exclusive lock on a file: flock on POSIX, msvcrt on Windows, no lock elsewhere."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self, wait_seconds: float = 0.0) -> bool:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + wait_seconds
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                os.close(fd)
                return False
            time.sleep(0.05)
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            _unlock(self.fd)
            os.close(self.fd)
            self.fd = None

    def busy(self) -> bool:
        """Whether another process holds the lock (tried, and let go at once)."""
        if self.acquire():
            self.release()
            return False
        return True


def _try_lock(fd: int) -> bool:
    try:
        import fcntl  # noqa: PLC0415 - POSIX
    except ImportError:
        fcntl = None  # type: ignore[assignment]
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True
    try:
        import msvcrt  # noqa: PLC0415 - Windows
    except ImportError:
        return True  # no locking here: the endpoint's eventId dedupe still keeps one copy
    try:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined,unused-ignore]
    except OSError:
        return False
    return True


def _unlock(fd: int) -> None:
    try:
        import fcntl  # noqa: PLC0415

        fcntl.flock(fd, fcntl.LOCK_UN)
    except ImportError:
        try:
            import msvcrt  # noqa: PLC0415

            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined,unused-ignore]
        except (ImportError, OSError):
            pass
    except OSError:
        pass


# --------------------------------------------------------------------------- schedule and state


def read_schedule(config: Config) -> tuple[float, str, float]:
    """(next attempt, settings key, last prune) from spool/next-attempt: plain text, no json."""
    try:
        with open(config.schedule_path, "rb") as handle:
            parts = handle.read(200).split()
        return float(parts[0]), parts[1].decode("ascii"), float(parts[2])
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return 0.0, "", 0.0


class State:
    """state.json (last error, counters: for status and doctor) and spool/next-attempt (for the hook).

    Both are written by the sender only, under the sender lock.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        try:
            loaded = _read_json(config.state_path)
            self.data: dict[str, Any] = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            self.data = {}

    def number(self, name: str) -> float:
        value = self.data.get(name)
        return float(value) if isinstance(value, (int, float)) else 0.0

    def due(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return self.number("nextAttempt") <= now or self.data.get("configKey") != self.config.key

    def save(self) -> None:
        import json  # noqa: PLC0415

        try:
            os.makedirs(self.config.spool_dir, mode=0o700, exist_ok=True)
            _write_atomic(self.config.state_path, json.dumps(self.data, indent=1, sort_keys=True).encode())
            schedule = (
                f"{self.number('nextAttempt'):.3f} {self.data.get('configKey') or '-'} {self.number('lastPrune'):.3f}\n"
            )
            _write_atomic(self.config.schedule_path, schedule.encode())
        except OSError as error:
            log(self.config, f"cannot write {self.config.state_path}: {type(error).__name__}", "error")

    def succeeded(self, sent: int) -> None:
        self.data.update(
            nextAttempt=0,
            failures=0,
            lastSuccessAt=time.time(),
            configKey=self.config.key,
            sent=int(self.number("sent")) + sent,
        )
        self.save()

    def failed(self, message: str, retry_after: float | None, auth: bool = False) -> float:
        """Note a failure and set the next attempt: Retry-After, else exponential backoff with jitter."""
        failures = int(self.number("failures")) + 1
        if retry_after is not None:
            delay = retry_after
        else:
            low, high = (
                (AUTH_RETRY_MIN_SECONDS, AUTH_RETRY_MAX_SECONDS)
                if auth
                else (self.config.retry_min, self.config.retry_max)
            )
            delay = min(high, low * 2 ** min(failures - 1, 30))
            delay *= 0.8 + 0.4 * (int.from_bytes(os.urandom(2), "big") / 65535)  # runs don't align
        now = time.time()
        self.data.update(
            nextAttempt=now + delay,
            failures=failures,
            lastError=redact(message),
            lastErrorAt=now,
            configKey=self.config.key,
        )
        self.save()
        log(self.config, f"{message}; events kept in the spool, next attempt in {delay:.0f} s", "warning")
        return delay

    def dropped(self, count: int) -> None:
        self.data["dropped"] = int(self.number("dropped")) + count


# --------------------------------------------------------------------------- the hook (foreground)


def run_hook(options: Mapping[str, str]) -> int:
    """Read one hook event from stdin, spool it, start a sender when one is due. Always returns 0."""
    config: Config | None = None
    try:
        config = Config(options, os.environ)
        stdin = getattr(sys.stdin, "buffer", None)
        if stdin is None:
            return 0
        if stdin.isatty():
            sys.stderr.write(f"{PROGRAM}: reads a Claude Code hook event on stdin; see `{PROGRAM} --help`\n")
            return 0
        raw, size = read_limited(stdin, MAX_EVENT_BYTES)
        # Let go of Claude Code's pipes now: it sees EOF at once, and a sender forked later does
        # not inherit them (it would hold them open until it runs).
        _stdio_to_devnull()
        if config.disabled:
            return 0
        problem = input_problem(raw, size)
        if problem:
            log(config, f"input dropped: {problem}", "error")
            return 0
        now_ms = time.time_ns() // 1_000_000
        event_id = new_ulid(now_ms)
        spool_write(config, event_id, record_header(event_id, now_ms).encode("utf-8", "replace") + b"\n" + raw)
        maybe_start_sender(config)
    except BaseException as error:  # never exit 2, never a traceback: Claude Code shows stderr
        if config is not None:
            log(config, f"hook failed: {type(error).__name__}: {str(error)[:200]}", "error")
    return 0


def _stdio_to_devnull() -> None:
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        if devnull > 2:
            os.close(devnull)
    except OSError:
        return


def read_limited(stream: BinaryIO, limit: int) -> tuple[bytes, int]:
    """All of stdin, or b'' past limit bytes (the rest is read and thrown away); and its size."""
    chunks = []
    size = 0
    while size <= STDIN_DRAIN_LIMIT:
        chunk = stream.read(1024 * 1024)
        if not chunk:
            break
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
    return (b"".join(chunks) if size <= limit else b""), size


def input_problem(raw: bytes, size: int) -> str:
    """What is wrong with the input at a glance (the sender parses it), or ''."""
    if size > MAX_EVENT_BYTES:
        return f"input of {size} bytes is over the {MAX_EVENT_BYTES}-byte event limit"
    stripped = raw.strip()
    if not stripped:
        return "empty input"
    if stripped[:1] != b"{" or stripped[-1:] != b"}":
        return f"input of {size} bytes is not a JSON object"
    return ""


def record_header(event_id: str, now_ms: int) -> str:
    """The spool file's first line: what only the hook's own run knows. JSON, built by hand."""
    fields = (
        ("v", "1"),
        ("eventId", json_string(event_id)),
        ("timestamp", json_string(iso_utc(now_ms))),
        ("machine", json_string(_machine())),
        ("user", json_string(_user())),
        ("cwd", json_string(_getcwd())),
        ("projectDir", json_string(os.environ.get("CLAUDE_PROJECT_DIR", ""))),
    )
    return "{" + ",".join(f'"{name}":{value}' for name, value in fields) + "}"


def _machine() -> str:
    try:
        return os.uname().nodename
    except AttributeError:  # Windows
        return os.environ.get("COMPUTERNAME", "")


def _user() -> str:
    for name in ("USER", "LOGNAME", "USERNAME"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        import pwd  # noqa: PLC0415

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, AttributeError):
        return ""


def spool_write(config: Config, name: str, record: bytes) -> str:
    """One event, one new file, renamed into place: a reader never sees half of it."""
    final = os.path.join(config.spool_dir, name + SPOOL_SUFFIX)
    tmp = os.path.join(config.spool_dir, f".{name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileNotFoundError:
        os.makedirs(config.spool_dir, mode=0o700, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        _write_all(fd, record)
    finally:
        os.close(fd)
    os.replace(tmp, final)
    return final


def maybe_start_sender(config: Config) -> None:
    """Start a sender unless one is at work, or the spool waits for its next attempt (and no prune is due)."""
    next_attempt, key, last_prune = read_schedule(config)
    now = time.time()
    due = next_attempt <= now or key != config.key
    if not due and now - last_prune < PRUNE_INTERVAL_SECONDS:
        return
    if config.foreground:
        run_sender(config)
        return
    if FileLock(config.lock_path).busy():
        return  # the sender at work looks at the spool again after it lets the lock go
    start_detached_sender(config)


def start_detached_sender(config: Config) -> None:
    """A sender in a session of its own, stdin/stdout/stderr on the null device: nobody waits for it."""
    if hasattr(os, "fork"):
        parent = os.getpid()
        if os.fork():
            return
        code = 0
        try:
            os.setsid()
            _stdio_to_devnull()
            os.nice(10)  # background work: Claude Code and the hook's own exit come first
            _wait_for_exit(parent, 0.2)
            import signal  # noqa: PLC0415 - only the sender needs it

            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            signal.alarm(SENDER_MAX_SECONDS + 60)  # whatever happens, it does not linger
            run_sender(config)
        except BaseException as error:
            log(config, f"sender failed: {type(error).__name__}: {str(error)[:200]}", "error")
            code = 1
        finally:
            os._exit(code)
    import subprocess  # noqa: PLC0415 - Windows: no fork

    command = [sys.executable, os.path.abspath(__file__), "_sender"]
    for name in ("url", "token_env"):
        if config.argv_options.get(name):
            command += [f"--{name.replace('_', '-')}", config.argv_options[name]]
    flags = 0
    for flag in ("DETACHED_PROCESS", "CREATE_NEW_PROCESS_GROUP", "CREATE_NO_WINDOW"):
        flags |= getattr(subprocess, flag, 0)
    subprocess.Popen(  # noqa: S603 - our own interpreter and file
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=True,
        creationflags=flags,
        start_new_session=os.name != "nt",
    )


def _wait_for_exit(parent: int, seconds: float) -> None:
    """Let the hook's process exit before the sender competes with it for a CPU (it is reparented then)."""
    deadline = time.monotonic() + seconds
    while os.getppid() == parent and time.monotonic() < deadline:
        time.sleep(0.001)


# --------------------------------------------------------------------------- spooled input -> event


class Rejected(Exception):
    """A spooled input that cannot become an event: noted in the log and dropped."""


class EventMaker:
    """Turns spooled records into the endpoint's event shape; remembers each directory's project."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.projects: dict[str, dict[str, str]] = {}

    def from_record(self, record: bytes) -> dict[str, Any]:
        import json  # noqa: PLC0415

        head, _, raw = record.partition(b"\n")
        try:
            header = json.loads(head)
            if not isinstance(header, dict):
                raise ValueError("header")
        except ValueError:
            raise Rejected("spool file without a header") from None
        try:
            posted = json.loads(raw)
        except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
            raise Rejected(f"input is not JSON ({type(error).__name__})") from None
        return self.event(posted, header)

    def event(self, posted: Any, header: Mapping[str, Any]) -> dict[str, Any]:
        """The hook input as {eventId, timestamp, event, sessionId, data, source}.

        Claude Code's fields all go in data, SessionStart's string `source` among them, exactly
        as the endpoint would put them from a raw post; an eventId, timestamp or object source
        the input brings itself is kept.
        """
        if not isinstance(posted, dict):
            raise Rejected(f"input is a JSON {type(posted).__name__}, not an object")
        if "hook_event_name" in posted and "event" not in posted:
            event = _from_raw(posted)
        elif "event" in posted:
            event = {key: value for key, value in posted.items() if key != "receivedAt"}
            if not isinstance(event.setdefault("data", {}), dict):
                raise Rejected("data is not a JSON object")
        else:
            raise Rejected("input has no hook_event_name")
        if not valid_event_name(event.get("event")):
            raise Rejected("hook_event_name is missing or not a PascalCase name")
        if not valid_session_id(event.get("sessionId")):
            raise Rejected("session_id is missing or not a valid session id")
        if not valid_event_id(event.get("eventId")):
            event["eventId"] = str(header.get("eventId") or new_ulid())
        if not _top_level("timestamp", event.get("timestamp")):
            event["timestamp"] = str(header.get("timestamp") or iso_utc(time.time_ns() // 1_000_000))
        event["source"] = self.source(event, header)
        return event

    def source(self, event: Mapping[str, Any], header: Mapping[str, Any]) -> dict[str, str]:
        """machine, user, project (and repo when there is a git remote); the input's own source wins."""
        source: dict[str, str] = {"machine": str(header.get("machine") or ""), "user": str(header.get("user") or "")}
        data = event.get("data") or {}
        where = next(
            (
                str(place)
                for place in (data.get("cwd"), header.get("projectDir"), header.get("cwd"))
                if isinstance(place, str) and place
            ),
            "",
        )
        if where:
            if where not in self.projects:
                self.projects[where] = project_of(where)
            source.update(self.projects[where])
        source["client"] = f"{PROGRAM}/{VERSION}"
        for extra in (self.config.source_extra, event.get("source")):
            if isinstance(extra, dict):
                source.update({key: value for key, value in extra.items() if isinstance(value, str)})
        clean = {key: value[:256] for key, value in source.items() if valid_source_key(key) and value}
        return dict(list(clean.items())[:16])


def _from_raw(posted: Mapping[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = {}
    data: dict[str, Any] = {}
    for key, value in posted.items():
        if key == "hook_event_name":
            event["event"] = value
        elif key == "session_id":
            event["sessionId"] = value
        elif key in ("eventId", "timestamp", "truncated", "source") and _top_level(key, value):
            event[key] = value
        else:
            data[key] = value
    event["data"] = data
    return event


def _top_level(key: str, value: Any) -> bool:
    if key == "eventId":
        return valid_event_id(value)
    if key == "timestamp":
        return isinstance(value, str) and 11 <= len(value) <= 40 and value[:4].isdigit() and value[4:5] == "-"
    if key == "truncated":
        return isinstance(value, bool)
    return isinstance(value, dict)  # an object source is a client's; a string one is Claude Code's


def encode_event(event: Mapping[str, Any]) -> bytes:
    import json  # noqa: PLC0415

    try:
        return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: send it escaped, the endpoint decides
        return json.dumps(event, separators=(",", ":")).encode("ascii")


def project_of(directory: str) -> dict[str, str]:
    """project (and repo) of the git work tree holding directory: a few file reads, no git process.

    project is the remote repository's name when there is a remote (origin first), else the
    work tree's directory name, else the directory's own name; repo is the remote's
    host/owner/name, with any credentials in its URL left out.
    """
    found = {"project": os.path.basename(directory.rstrip("/\\")) or directory}
    path = directory
    for _ in range(64):
        dot_git = os.path.join(path, ".git")
        git_dir = dot_git if os.path.isdir(dot_git) else _linked_git_dir(dot_git, path)
        if git_dir:
            found["project"] = os.path.basename(path) or found["project"]
            repo = repo_of_remote(_remote_url(git_dir))
            if repo:
                found["repo"] = repo
                found["project"] = repo.rsplit("/", 1)[-1]
            return found
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return found


def _linked_git_dir(dot_git_file: str, work_tree: str) -> str:
    """A worktree's or submodule's `.git` file says "gitdir: PATH"; its config is in the common dir."""
    try:
        with open(dot_git_file, encoding="utf-8", errors="replace") as handle:
            line = handle.readline(4096).strip()
    except OSError:
        return ""
    if not line.startswith("gitdir:"):
        return ""
    git_dir = os.path.join(work_tree, line[len("gitdir:") :].strip())
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as handle:
            return os.path.normpath(os.path.join(git_dir, handle.readline(4096).strip()))
    except OSError:
        return git_dir


def _remote_url(git_dir: str) -> str:
    try:
        with open(os.path.join(git_dir, "config"), encoding="utf-8", errors="replace") as handle:
            text = handle.read(256 * 1024)
    except OSError:
        return ""
    remotes: dict[str, str] = {}
    section = ""
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if line.startswith("["):
            section = line
        elif section.startswith('[remote "') and line.replace(" ", "").startswith("url="):
            name = section[len('[remote "') :].split('"', 1)[0]
            remotes.setdefault(name, line.split("=", 1)[1].strip())
    return remotes.get("origin") or next(iter(remotes.values()), "")


def repo_of_remote(url: str) -> str:
    """host/owner/name of a git remote URL (https, ssh, scp-like or a path), without credentials."""
    url = url.strip().strip('"')
    if "://" in url:
        authority, _, path = url.split("://", 1)[1].partition("/")
    elif ":" in url.split("/", 1)[0] and not (len(url) > 1 and url[1] == ":"):  # git@host:owner/name, not C:\
        authority, _, path = url.partition(":")
    else:
        authority, path = "", url
    host = authority.rsplit("@", 1)[-1].split(":", 1)[0]
    path = path.replace("\\", "/").strip("/")
    if path.endswith(".git"):
        path = path[:-4]
    parts = [part for part in path.split("/") if part]
    if not parts:
        return ""
    return f"{host}/{'/'.join(parts[-2:])}" if host else parts[-1]


# --------------------------------------------------------------------------- the sender


class SpoolItem:
    def __init__(self, path: str, event_id: str, event_name: str, text: bytes) -> None:
        self.path = path
        self.event_id = event_id
        self.event_name = event_name
        self.text = text
        self.twins: list[str] = []  # other spool files holding the same eventId


class DrainReport:
    def __init__(self) -> None:
        self.sent = 0
        self.dropped = 0
        self.stopped = ""  # why sending stopped with events left


def run_sender(config: Config) -> None:
    """Drain the spool under the sender lock; look again after letting the lock go."""
    config.load()
    if config.config_error:
        log(config, config.config_error, "warning")
    deadline = time.monotonic() + SENDER_MAX_SECONDS
    while time.monotonic() < deadline:
        lock = FileLock(config.lock_path)
        if not lock.acquire():
            return  # another sender is at work
        try:
            drain(config, State(config), force=False, deadline=deadline)
        finally:
            lock.release()
        # A hook run that found the lock taken left its event to us: look once more.
        if not (spool_names(config) and State(config).due()):
            return


def drain(config: Config, state: State, force: bool, deadline: float) -> DrainReport:
    """Prune, then send batches until the spool is empty, a failure sets a backoff, or time is up."""
    report = DrainReport()
    prune(config, state)
    problem = config.problem()
    if problem:
        if spool_names(config):
            report.stopped = problem
            if force or state.due() or state.data.get("lastError") != problem:
                state.failed(problem, None, auth=True)
        return report
    if not force and not state.due():
        report.stopped = "waiting for the next attempt"
        return report
    sending = Sending(config, state, report)
    while time.monotonic() < deadline:
        names = spool_names(config)
        if not names:
            return report
        dropped = report.dropped
        batch = sending.load_batch(names)
        if not batch:
            if report.dropped == dropped:  # nothing sendable and nothing removed: do not spin
                report.stopped = "the spool holds files that cannot be removed"
                return report
            continue
        stop = sending.deliver(batch)
        if stop:
            report.stopped = stop
            return report
    report.stopped = "time is up"
    return report


def spool_names(config: Config) -> list[str]:
    """The spooled events' file names, oldest first (they are ULIDs)."""
    try:
        names = [name for name in os.listdir(config.spool_dir) if name.endswith(SPOOL_SUFFIX) and name[0] != "."]
    except OSError:
        return []
    names.sort()
    return names


def prune(config: Config, state: State) -> None:
    """Keep the spool within its bounds: drop events past the age limit, then the oldest over the others."""
    now = time.time()
    entries: list[tuple[str, int, float]] = []
    try:
        with os.scandir(config.spool_dir) as scan:
            for entry in scan:
                try:
                    info = entry.stat()
                except OSError:
                    continue
                if entry.name.endswith(SPOOL_SUFFIX) and not entry.name.startswith("."):
                    ms = ulid_ms(entry.name)
                    entries.append((entry.name, info.st_size, ms / 1000 if ms else info.st_mtime))
                elif entry.name.endswith(".tmp") and now - info.st_mtime > STALE_TMP_SECONDS:
                    _remove(entry.path)  # a writer died between its write and its rename
    except OSError:
        entries = []
    entries.sort()
    total = sum(size for _, size, _ in entries)
    kept = len(entries)
    too_old = too_many = 0
    for name, size, created in entries:
        old = config.spool_max_age > 0 and now - created > config.spool_max_age
        if not (old or kept > config.spool_max_events or total > config.spool_max_bytes):
            break
        _remove(os.path.join(config.spool_dir, name))
        kept -= 1
        total -= size
        too_old += old
        too_many += not old
    if too_old or too_many:
        state.dropped(too_old + too_many)
        log(
            config,
            f"spool over its bounds: dropped the {too_old + too_many} oldest events ({too_old} older than "
            f"{config.spool_max_age / 86400:g} days, {too_many} over {config.spool_max_events} events "
            f"or {config.spool_max_bytes / (1024 * 1024):g} MB)",
            "warning",
        )
    state.data["lastPrune"] = now
    state.data.setdefault("configKey", config.key)
    state.save()


class Sending:
    """One drain's batches: what to send, what the endpoint's answers mean for each spooled event."""

    def __init__(self, config: Config, state: State, report: DrainReport) -> None:
        self.config = config
        self.state = state
        self.report = report
        self.maker = EventMaker(config)

    def load_batch(self, names: Sequence[str]) -> list[SpoolItem]:
        """Up to 100 spooled events that fit one request, oldest first, each eventId once."""
        batch: list[SpoolItem] = []
        by_id: dict[str, SpoolItem] = {}
        size = BATCH_ENVELOPE
        for name in names:
            if len(batch) >= MAX_BATCH_EVENTS:
                break
            path = os.path.join(self.config.spool_dir, name)
            try:
                with open(path, "rb") as handle:
                    record = handle.read()
            except FileNotFoundError:
                continue
            except OSError as error:
                self.drop(path, f"spool file {name} cannot be read ({type(error).__name__})")
                continue
            try:
                event = self.maker.from_record(record)
            except Rejected as rejected:
                self.drop(path, f"input dropped: {rejected}")
                continue
            text = encode_event(event)
            if len(text) > MAX_EVENT_BYTES:
                self.drop(path, f"event {event['eventId']} is {len(text)} bytes, over the event limit")
                continue
            event_id = str(event["eventId"])
            if event_id in by_id:
                by_id[event_id].twins.append(path)
                continue
            if size + len(text) + 1 > MAX_BODY_BYTES:
                break
            item = SpoolItem(path, event_id, str(event["event"]), text)
            batch.append(item)
            by_id[event_id] = item
            size += len(text) + 1
        return batch

    def drop(self, path: str, why: str) -> None:
        _remove(path)
        self.report.dropped += 1
        self.state.dropped(1)
        log(self.config, f"dropped: {why}", "error")

    def deliver(self, batch: list[SpoolItem]) -> str:
        """Send one batch; split or drop what the endpoint refuses. '' when done, else why it stopped."""
        groups = [batch]
        while groups:
            group = groups.pop(0)
            body = b'{"events":[' + b",".join(item.text for item in group) + b"]}"
            try:
                status, headers, payload = post(self.config, self.config.url, body)
            except Exception as error:  # refused, timed out, DNS, TLS, a broken answer: all transient
                self.state.failed(f"cannot reach {_host(self.config.url)}: {describe_error(error)}", None)
                return "the endpoint cannot be reached"
            if 200 <= status < 300:
                for item in group:
                    _remove(item.path)
                    for twin in item.twins:
                        _remove(twin)
                self.report.sent += len(group)
                self.state.succeeded(len(group))
                continue
            answer = _json_or_none(payload)
            if status in (408, 425, 429) or status >= 500:
                return self.later(group, status, answer, headers)
            if status in (401, 403, 404, 405, 407) or 300 <= status < 400:
                return self.refused(status, headers)
            groups[:0] = self.rejected(group, status, answer)
        return ""

    def later(self, group: list[SpoolItem], status: int, answer: Any, headers: Mapping[str, str]) -> str:
        """408, 425, 429, 5xx: keep the events (but those a partial 503 stored) and retry after a backoff."""
        if status == 503 and isinstance(answer, dict) and isinstance(answer.get("stored"), list):
            stored = {value for value in answer["stored"] if isinstance(value, str)}
            for item in group:
                if item.event_id in stored and _remove(item.path):
                    self.report.sent += 1
        self.state.failed(f"the endpoint answered {status}", retry_after(headers))
        return f"the endpoint answered {status}"

    def refused(self, status: int, headers: Mapping[str, str]) -> str:
        """401, 403, 404, 405, 407, 3xx: a setup problem, not the events'. Keep them; back off longer."""
        hint = {
            401: f"the token was refused: check {self.config.argv_options.get('token_env') or TOKEN_ENV}",
            403: "the token may not write events (it needs the ingest scope)",
            404: f"no such endpoint: check {URL_ENV}",
            405: f"no such endpoint: check {URL_ENV}",
            407: "the proxy asks for credentials",
        }.get(status, f"the endpoint redirects to {headers.get('location', '?')}: configure that URL")
        self.state.failed(f"the endpoint answered {status}: {hint}", None, auth=True)
        return f"the endpoint answered {status}"

    def rejected(self, group: list[SpoolItem], status: int, answer: Any) -> list[list[SpoolItem]]:
        """Any other 4xx (400, 413, 422, ...) is about the events: drop those it names, split the rest.

        Returns the groups to send now. A single event refused is dropped, so nothing is retried for ever.
        """
        named = named_events(answer, len(group)) if status != 413 else {}
        if named:
            for index, problem in sorted(named.items()):
                item = group[index]
                self.drop(item.path, f"event {item.event_id} ({item.event_name}) refused: {problem}")
            rest = [item for index, item in enumerate(group) if index not in named]
            return [rest] if rest else []
        if len(group) > 1:
            half = len(group) // 2
            return [group[:half], group[half:]]
        problem = _first_problem(answer) or "no reason given"
        self.drop(group[0].path, f"event {group[0].event_id} ({group[0].event_name}) refused ({status}): {problem}")
        return []


def named_events(answer: Any, count: int) -> dict[int, str]:
    """{index: problem} for each `events[i]...` field named in a 400's details."""
    named: dict[int, str] = {}
    details = answer.get("details") if isinstance(answer, dict) else None
    for detail in details if isinstance(details, list) else []:
        field = detail.get("field") if isinstance(detail, dict) else None
        if not isinstance(field, str) or not field.startswith("events["):
            continue
        digits = field[len("events[") :].split("]", 1)[0]
        if digits.isdigit() and int(digits) < count:
            named.setdefault(int(digits), f"{field}: {str(detail.get('message', ''))[:200]}")
    return named


def _first_problem(answer: Any) -> str:
    if isinstance(answer, dict):
        return str(answer.get("message") or answer.get("error") or "")[:300]
    return ""


def _json_or_none(payload: bytes) -> Any:
    import json  # noqa: PLC0415

    try:
        return json.loads(payload)
    except ValueError:
        return None


def _host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Retry-After in seconds (a number or an HTTP date), kept between 1 s and 10 min."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime  # noqa: PLC0415

        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError):
            return None
    return min(max(seconds, 1.0), MAX_RETRY_AFTER_SECONDS)


def describe_error(error: BaseException) -> str:
    reason = getattr(error, "reason", None)
    if isinstance(reason, BaseException):
        error = reason
    if isinstance(error, TimeoutError) or type(error).__name__ == "timeout":
        return "timed out"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    return f"{type(error).__name__}: {str(error)[:200]}"


def post(config: Config, url: str, body: bytes | None, method: str = "POST") -> tuple[int, dict[str, str], bytes]:
    """One HTTP request with the bearer token and the timeout; redirects are not followed."""
    import urllib.error  # noqa: PLC0415 - the hook's foreground never pays for urllib
    import urllib.request  # noqa: PLC0415

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    headers = {"User-Agent": f"{PROGRAM}/{VERSION}", "Accept": "application/json"}
    if config.token:
        headers["Authorization"] = f"Bearer {config.token}"
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 - http(s) only
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=config.timeout) as response:
            return response.status, _lower(response.headers), response.read(4 * MAX_BODY_BYTES)
    except urllib.error.HTTPError as error:
        try:
            payload = error.read(256 * 1024)
        except Exception:
            payload = b""
        return error.code, _lower(error.headers), payload


def _lower(headers: Any) -> dict[str, str]:
    return {str(name).lower(): str(value) for name, value in (headers.items() if headers else [])}


# --------------------------------------------------------------------------- flush and status


def cmd_flush(config: Config) -> int:
    """Send the spool now, in the foreground, whatever the backoff says."""
    config.load()
    lock = FileLock(config.lock_path)
    if not lock.acquire(FLUSH_LOCK_WAIT_SECONDS):
        print(f"a sender is still at work after {FLUSH_LOCK_WAIT_SECONDS} s; try again later")
        return 1
    try:
        report = drain(config, State(config), force=True, deadline=time.monotonic() + 10 * SENDER_MAX_SECONDS)
    finally:
        lock.release()
    left = len(spool_names(config))
    print(f"sent {report.sent} events, dropped {report.dropped}; {left} left in the spool")
    if left:
        print(f"stopped: {report.stopped or State(config).data.get('lastError', '?')}")
        return 1
    return 0


def spool_summary(config: Config) -> tuple[int, int, float | None]:
    """(events, bytes, time of the oldest) in the spool."""
    count = size = 0
    oldest: float | None = None
    for name in spool_names(config):
        try:
            size += os.stat(os.path.join(config.spool_dir, name)).st_size
        except OSError:
            continue
        count += 1
        ms = ulid_ms(name)
        if ms is not None and oldest is None:
            oldest = ms / 1000
    return count, size, oldest


def _ago(moment: float) -> str:
    seconds = time.time() - moment
    return f"in {_duration(-seconds)}" if seconds < 0 else f"{_duration(seconds)} ago"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _local(moment: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(moment))


def cmd_status(config: Config) -> int:
    config.load()
    state = State(config)
    count, size, oldest = spool_summary(config)
    print(f"endpoint:     {config.url or '(not configured)'}  [{config.origin.get('url', 'default')}]")
    print(f"token:        {'set' if config.token else 'not set'}  [{config.origin.get('token', 'default')}]")
    print(f"config file:  {config.config_path}{'' if os.path.exists(config.config_path) else ' (none)'}")
    if config.config_error:
        print(f"              {config.config_error}")
    print(f"spool:        {config.spool_dir}")
    waiting = f"{count} events, {size / 1024:.1f} KB" + (f", oldest from {_ago(oldest)}" if oldest else "")
    limits = (
        f"{config.spool_max_events} events, {config.spool_max_bytes / (1024 * 1024):g} MB, "
        f"{config.spool_max_age / 86400:g} days"
    )
    print(f"waiting:      {waiting}  (limits: {limits})")
    print(f"sender:       {'at work' if FileLock(config.lock_path).busy() else 'idle'}")
    if state.number("lastSuccessAt"):
        print(f"last success: {_local(state.number('lastSuccessAt'))} ({_ago(state.number('lastSuccessAt'))})")
    if state.data.get("lastError"):
        print(f"last error:   {state.data['lastError']} ({_ago(state.number('lastErrorAt'))})")
    next_attempt = state.number("nextAttempt")
    if next_attempt > time.time() and state.data.get("configKey") == config.key:
        print(f"next attempt: {_local(next_attempt)} ({_ago(next_attempt)}); `{PROGRAM} flush` sends now")
    else:
        print(f"next attempt: with the next hook event (or `{PROGRAM} flush`)")
    print(f"sent so far:  {int(state.number('sent'))}; dropped: {int(state.number('dropped'))}")
    print(f"log:          {config.log_path}")
    return 0


# --------------------------------------------------------------------------- install / uninstall


class SettingsError(Exception):
    pass


def settings_path(project: str | None, environ: Mapping[str, str]) -> str:
    """DIR/.claude/settings.json for a project, else the user's (CLAUDE_CONFIG_DIR or ~/.claude)."""
    if project is not None:
        return os.path.join(os.path.abspath(project), ".claude", "settings.json")
    base = environ.get("CLAUDE_CONFIG_DIR") or os.path.join(os.path.expanduser("~"), ".claude")
    return os.path.join(base, "settings.json")


def load_settings(path: str) -> tuple[dict[str, Any], bytes | None]:
    """The settings and the file's bytes (None when there is no file); SettingsError when malformed."""
    import json  # noqa: PLC0415

    try:
        with open(path, "rb") as handle:
            original = handle.read()
    except FileNotFoundError:
        return {}, None
    except OSError as error:
        raise SettingsError(f"cannot read {path}: {error}") from None
    if not original.strip():
        return {}, original
    try:
        settings = json.loads(original)
    except ValueError as error:
        raise SettingsError(f"{path} is not valid JSON ({error}); fix it or move it away, then run again") from None
    if not isinstance(settings, dict):
        raise SettingsError(f"{path} holds a JSON {type(settings).__name__}, not an object")
    hooks = settings.get("hooks", {})
    if not isinstance(hooks, dict):
        raise SettingsError(f'{path}: "hooks" is not an object')
    for event, groups in hooks.items():
        if not isinstance(groups, list) or not all(isinstance(group, dict) for group in groups):
            raise SettingsError(f'{path}: "hooks.{event}" is not a list of objects')
        for group in groups:
            inner = group.get("hooks", [])
            if not isinstance(inner, list) or not all(isinstance(hook, dict) for hook in inner):
                raise SettingsError(f'{path}: a "hooks" list under "hooks.{event}" is not a list of objects')
    return settings, original


def is_ours(hook: Mapping[str, Any]) -> bool:
    command = hook.get("command")
    return hook.get("type") == "command" and isinstance(command, str) and any(mark in command for mark in MARKERS)


def hook_command(python: str | None = None, module_dir: str | None = None) -> str:
    """The command settings.json runs: this module, imported (its .pyc cached) under this Python, with -S.

    Running the file as a script would compile all of it on every event, and the site module
    (which -S skips) would cost more than the hook's own work; neither is needed.
    """
    python = python or sys.executable or "python3"
    module_dir = module_dir or os.path.dirname(os.path.abspath(__file__))
    module = os.path.splitext(os.path.basename(__file__))[0]
    if os.name == "nt":
        code = f"import sys;sys.path.insert(0,{module_dir!r});import {module} as h;sys.exit(h.main())"
        return f'"{python}" -S -c "{code}"'
    import shlex  # noqa: PLC0415

    plain = not any(char in module_dir for char in "'\"$`\\\n")
    if plain:  # the common case, kept readable: -c "...'DIR'..."
        code = f"import sys;sys.path.insert(0,'{module_dir}');import {module} as h;sys.exit(h.main())"
        return f'{shlex.quote(python)} -S -c "{code}"'
    code = f"import sys;sys.path.insert(0,{module_dir!r});import {module} as h;sys.exit(h.main())"
    return f"{shlex.quote(python)} -S -c {shlex.quote(code)}"


def precompile() -> str:
    """Write this module's .pyc for this Python, even where PYTHONDONTWRITEBYTECODE is set.

    The hook command imports the module: with a cached .pyc it starts in a few milliseconds;
    without one, every event compiles two thousand lines first. Returns the .pyc's path or the error.
    """
    import importlib.util  # noqa: PLC0415
    import py_compile  # noqa: PLC0415

    source = os.path.abspath(__file__)
    try:
        return str(py_compile.compile(source, cfile=importlib.util.cache_from_source(source), doraise=True))
    except (OSError, py_compile.PyCompileError) as error:
        return f"{type(error).__name__}: {error}"


def _quote(text: str) -> str:
    if os.name == "nt":
        return f'"{text}"'
    import shlex  # noqa: PLC0415

    return shlex.quote(text)


def our_hook(command: str) -> dict[str, Any]:
    return {"type": "command", "command": command, "async": True, "timeout": 30}


def merge_hooks(settings: dict[str, Any], hook: dict[str, Any], events: Sequence[str]) -> int:
    """Add or update our hook under every event; theirs stay as they are. Returns the changes made.

    Ours is a group of its own, {"hooks": [hook]}, with no matcher (every tool, every source).
    An event that has exactly that is left alone, so installing again changes nothing.
    """
    hooks = settings.setdefault("hooks", {})
    changes = 0
    for event in events:
        groups = hooks.setdefault(event, [])
        ours = [(group, entry) for group in groups for entry in group.get("hooks", []) if is_ours(entry)]
        if len(ours) == 1:
            group, entry = ours[0]
            if entry == hook and group.get("matcher") in (None, "", "*") and len(group.get("hooks", [])) == 1:
                continue
        _remove_ours(groups)
        groups.append({"hooks": [dict(hook)]})
        changes += 1
    return changes


def _remove_ours(groups: list[dict[str, Any]]) -> int:
    """Take our entries out of an event's groups, and the groups only we were in. Returns how many."""
    removed = 0
    for group in list(groups):
        entries = group.get("hooks", [])
        kept = [entry for entry in entries if not is_ours(entry)]
        if len(kept) == len(entries):
            continue
        removed += len(entries) - len(kept)
        if kept:
            group["hooks"] = kept
        else:
            groups.remove(group)
    return removed


def remove_hooks(settings: dict[str, Any]) -> int:
    """Remove our entries (and the events only we had); theirs stay. Returns how many were removed."""
    hooks = settings.get("hooks")
    if not isinstance(hooks, dict):
        return 0
    removed = 0
    for event in list(hooks):
        count = _remove_ours(hooks[event])
        removed += count
        if count and not hooks[event]:
            del hooks[event]
    return removed


def write_settings(path: str, settings: dict[str, Any], original: bytes | None) -> str:
    """Back the old file up (timestamped), then replace it atomically. Returns the backup's path or ''."""
    import json  # noqa: PLC0415

    backup = ""
    mode = 0o644
    if original is not None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        backup = f"{path}.bak-{stamp}"
        counter = 1
        while os.path.exists(backup):
            backup = f"{path}.bak-{stamp}-{counter}"
            counter += 1
        mode = _mode_of(path, mode)
        _write_atomic(backup, original, mode)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    _write_atomic(path, (json.dumps(settings, indent=2, ensure_ascii=False) + "\n").encode("utf-8"), mode)
    return backup


def _mode_of(path: str, default: int) -> int:
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        return default


def cmd_install(args: Any) -> int:
    path = settings_path(args.project, os.environ)
    try:
        settings, original = load_settings(path)
    except SettingsError as error:
        print(f"✗ {error}; nothing changed", file=sys.stderr)
        return 1
    command = args.command or hook_command()
    if args.url:
        command += f" --url {_quote(normalise_url(args.url))}"
    if args.token_env:
        if not valid_source_key(args.token_env):
            print(f"✗ --token-env {args.token_env!r} is not an environment variable name", file=sys.stderr)
            return 1
        command += f" --token-env {args.token_env}"
    if not any(mark in command for mark in MARKERS):
        print(f"✗ the command must contain {MARKERS[0]!r} so that uninstall can find it", file=sys.stderr)
        return 1
    if not merge_hooks(settings, our_hook(command), HOOK_EVENTS):
        print(f"✓ already installed in {path}: nothing changed")
        return 0
    try:
        backup = write_settings(path, settings, original)
    except OSError as error:
        print(f"✗ cannot write {path}: {error}", file=sys.stderr)
        return 1
    print(f"✓ installed an async command hook for {len(HOOK_EVENTS)} events in {path}")
    print(f"  command: {command}")
    if backup:
        print(f"  backup:  {backup}")
    if not args.command:
        compiled = precompile()
        if not compiled.endswith(".pyc"):
            print(f"! could not cache the compiled module ({compiled}): every event compiles it (tens of ms)")
    problem = Config({"url": args.url or "", "token_env": args.token_env or ""}, os.environ).problem()
    if problem:
        print(f"! {problem}")
    print(f"  check the setup with: {PROGRAM} doctor")
    return 0


def cmd_uninstall(args: Any) -> int:
    path = settings_path(args.project, os.environ)
    try:
        settings, original = load_settings(path)
    except SettingsError as error:
        print(f"✗ {error}; nothing changed", file=sys.stderr)
        return 1
    removed = remove_hooks(settings)
    if not removed:
        print(f"✓ no {PROGRAM} hooks in {path}: nothing changed")
        return 0
    try:
        backup = write_settings(path, settings, original)
    except OSError as error:
        print(f"✗ cannot write {path}: {error}", file=sys.stderr)
        return 1
    print(f"✓ removed {removed} {PROGRAM} hook entries from {path} (backup: {backup})")
    left = len(spool_names(Config({}, os.environ)))
    if left:
        print(f"  {left} events are still in the spool: `{PROGRAM} flush` sends them")
    return 0


# --------------------------------------------------------------------------- doctor


class Doctor:
    """Each check prints one line: ✓ passed, ✗ failed, ! worth a look. Exit 1 on any ✗."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.failures = 0
        self.session = f"claude-events-doctor-{new_ulid().lower()}"
        self.event_id = new_ulid()

    def report(self, ok: bool | None, what: str, detail: str) -> None:
        self.failures += ok is False
        print(f"{'✓' if ok else ('!' if ok is None else '✗')} {what}: {detail}")

    def run(self) -> int:
        config = self.config.load()
        print(f"{PROGRAM} {VERSION} doctor (Python {sys.version.split()[0]})")
        problem = config.problem()
        if config.config_error:
            self.report(False, "config file", config.config_error)
        detail = f"{config.url} [{config.origin.get('url')}], token from {config.origin.get('token')}"
        self.report(not problem, "configuration", problem or detail)
        self.check_config_file_mode()
        if not problem and self.health() and self.send():
            self.read_back()
            self.websocket()
        self.spool()
        self.settings()
        print("all checks passed" if not self.failures else f"{self.failures} check(s) failed")
        return 1 if self.failures else 0

    def health(self) -> bool:
        started = time.monotonic()
        try:
            status, _, _ = post(self.config, self.config.base_url + "/api/health", None, "GET")
        except Exception as error:
            self.report(False, "health", f"{_host(self.config.url)}: {describe_error(error)}")
            return False
        self.report(status == 200, "health", f"GET /api/health -> {status} in {_ms(started)}")
        return status == 200

    def send(self) -> bool:
        now_ms = time.time_ns() // 1_000_000
        test_input = {
            "hook_event_name": "Notification",
            "session_id": self.session,
            "message": "claude-events doctor",
            "notification_type": "doctor",
            "cwd": _getcwd(),
            "eventId": self.event_id,
        }
        import json  # noqa: PLC0415

        header = json.loads(record_header(self.event_id, now_ms))
        body = encode_event(EventMaker(self.config).event(test_input, header))
        started = time.monotonic()
        try:
            status, _, payload = post(self.config, self.config.url, body)
        except Exception as error:
            self.report(False, "send", f"{_host(self.config.url)}: {describe_error(error)}")
            return False
        if status != 201:
            self.report(False, "send", f"POST {ENDPOINT_PATH} -> {status}: {_first_problem(_json_or_none(payload))}")
            return False
        self.report(True, "send", f"POST {ENDPOINT_PATH} -> 201 in {_ms(started)} (eventId {self.event_id})")
        return True

    def read_back(self) -> None:
        import urllib.parse  # noqa: PLC0415

        url = f"{self.config.url}?{urllib.parse.urlencode({'sessionId': self.session, 'limit': 10})}"
        started = time.monotonic()
        found, last = False, "no answer"
        while not found and time.monotonic() - started < 10:
            try:
                status, _, payload = post(self.config, url, None, "GET")
            except Exception as error:
                last = describe_error(error)
                time.sleep(0.3)
                continue
            answer = _json_or_none(payload)
            events = answer.get("events") if isinstance(answer, dict) else None
            found = status == 200 and _has_event(events, self.event_id)
            last = f"GET ?sessionId=… -> {status}" + ("" if status == 200 else f": {_first_problem(answer)}")
            if status != 200:
                break
            if not found:
                time.sleep(0.3)
        self.report(found, "read back", f"{last}; the test event {'found' if found else 'not found'} in {_ms(started)}")

    def websocket(self) -> None:
        ws_url = self.config.ws_url
        if not ws_url:
            self.report(None, "websocket", "not checked: set CLAUDE_EVENTS_WS_URL (or ws_url in the config file)")
            return
        started = time.monotonic()
        try:
            message = websocket_first_message(ws_url, {"token": self.config.token, "sessionId": self.session}, 10.0)
        except Exception as error:
            self.report(False, "websocket", f"{_host(ws_url)}: {describe_error(error)}")
            return
        kind = message.get("type") if isinstance(message, dict) else None
        events = message.get("events") if isinstance(message, dict) else None
        among = " (the test event among them)" if _has_event(events, self.event_id) else ""
        detail = f"{_host(ws_url)}: {kind or 'an unexpected message'} with {len(events or [])} events{among}"
        self.report(kind == "claude:events:history", "websocket", f"{detail} in {_ms(started)}")

    def spool(self) -> None:
        count, _, oldest = spool_summary(self.config)
        if not count:
            self.report(True, "spool", f"empty ({self.config.spool_dir})")
            return
        detail = f"{count} events waiting (oldest from {_ago(oldest or time.time())})"
        last_error = State(self.config).data.get("lastError")
        if last_error:
            detail += f"; last error: {last_error}"
        self.report(None, "spool", f"{detail}; `{PROGRAM} flush` sends them")

    def settings(self) -> None:
        installed = []
        for path in (settings_path(None, os.environ), settings_path(".", os.environ)):
            try:
                settings, _ = load_settings(path)
            except SettingsError as error:
                self.report(False, "Claude Code settings", str(error))
                continue
            hooks = settings.get("hooks", {})
            events = [
                name for name, groups in hooks.items() if any(is_ours(h) for g in groups for h in g.get("hooks", []))
            ]
            if events:
                installed.append(f"{len(events)} events in {path}")
        detail = "; ".join(installed) or f"no hooks installed (run `{PROGRAM} install`)"
        self.report(True if installed else None, "Claude Code settings", detail)

    def check_config_file_mode(self) -> None:
        if os.name == "nt" or self.config.origin.get("token") != "config file":
            return
        try:
            loose = os.stat(self.config.config_path).st_mode & 0o077
        except OSError:
            return
        if loose:
            self.report(
                None, "config file", f"{self.config.config_path} holds the token and others may read it: chmod 600"
            )


def _has_event(events: Any, event_id: str) -> bool:
    return isinstance(events, list) and any(
        isinstance(item, dict) and item.get("eventId") == event_id for item in events
    )


def _ms(started: float) -> str:
    return f"{(time.monotonic() - started) * 1000:.0f} ms"


def websocket_first_message(url: str, params: Mapping[str, str], timeout: float) -> Any:
    """The first JSON message a WebSocket endpoint sends.

    A minimal RFC 6455 client, enough for the doctor and nothing more: the opening handshake
    (checking Sec-WebSocket-Accept), then server frames read until one whole text message
    (continuation frames joined, pings answered), then a close frame. No extensions, no
    subprotocols, no proxies.
    """
    import socket  # noqa: PLC0415
    import urllib.parse  # noqa: PLC0415

    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        raise ValueError(f"the WebSocket URL must start with ws:// or wss://, not {parts.scheme}://")
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    query = "&".join(q for q in (parts.query, urllib.parse.urlencode(dict(params))) if q)
    sock: Any = socket.create_connection((host, port), timeout=timeout)
    try:
        if parts.scheme == "wss":
            import ssl  # noqa: PLC0415

            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        reader = _FrameReader(sock, time.monotonic() + timeout)
        reader.handshake(host if parts.port is None else f"{host}:{parts.port}", f"{parts.path or '/'}?{query}")
        return reader.message()
    finally:
        sock.close()


class _FrameReader:
    def __init__(self, sock: Any, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.buffer = b""

    def handshake(self, host: str, target: str) -> None:
        import base64  # noqa: PLC0415
        import hashlib  # noqa: PLC0415

        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nUser-Agent: {PROGRAM}/{VERSION}\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        while b"\r\n\r\n" not in self.buffer:
            self._fill(len(self.buffer) + 1)
            if len(self.buffer) > 65536:
                raise ConnectionError("the handshake answer is too long")
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ", 2)
        if len(status) < 2 or status[1] != "101":
            raise ConnectionError(f"the server answered {' '.join(status[1:]) or lines[0]!r} instead of 101")
        answer = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
        guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
        expected = base64.b64encode(hashlib.sha1((key + guid).encode()).digest()).decode()  # noqa: S324 - RFC 6455
        if answer.get("sec-websocket-accept") != expected:
            raise ConnectionError("Sec-WebSocket-Accept does not match the key")

    def _fill(self, count: int) -> None:
        while len(self.buffer) < count:
            self.sock.settimeout(max(self.deadline - time.monotonic(), 0.01))
            chunk = self.sock.recv(max(65536, count - len(self.buffer)))
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buffer += chunk

    def _take(self, count: int) -> bytes:
        self._fill(count)
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def message(self) -> Any:
        import json  # noqa: PLC0415

        message = b""
        while time.monotonic() < self.deadline:
            first, second = self._take(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                length = int.from_bytes(self._take(2), "big")
            elif length == 127:
                length = int.from_bytes(self._take(8), "big")
            mask = self._take(4) if second & 0x80 else b""
            payload = self._take(length)
            if mask:
                payload = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
            if opcode == 0x8:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                raise ConnectionError(
                    f"the server closed the WebSocket ({code} {payload[2:].decode(errors='replace')})"
                )
            if opcode == 0x9:
                self.sock.sendall(_ws_frame(0xA, payload))
            elif opcode in (0x0, 0x1, 0x2):
                message += payload
                if first & 0x80:
                    self._close()
                    return json.loads(message)
        raise TimeoutError("no message")

    def _close(self) -> None:
        try:
            self.sock.sendall(_ws_frame(0x8, (1000).to_bytes(2, "big")))
        except OSError:
            return


def _ws_frame(opcode: int, payload: bytes) -> bytes:
    """A client frame: final, masked (a client must mask its frames)."""
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        header = bytes([0x80 | opcode, 0x80 | length])
    elif length < 65536:
        header = bytes([0x80 | opcode, 0x80 | 126]) + length.to_bytes(2, "big")
    else:
        header = bytes([0x80 | opcode, 0x80 | 127]) + length.to_bytes(8, "big")
    return header + mask + bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))


# --------------------------------------------------------------------------- entry point

USAGE = f"""usage: {PROGRAM} [--url URL] [--token-env NAME]      the hook: one event on stdin
       {PROGRAM} install [--user | --project DIR] [--url URL] [--token-env NAME] [--command CMD]
       {PROGRAM} uninstall [--user | --project DIR]
       {PROGRAM} doctor | flush | status [--url URL] [--token-env NAME]
       {PROGRAM} --version

Sends Claude Code hook events to a Claude Events endpoint without ever making Claude wait.
Settings, first found wins: --url/--token-env, then CLAUDE_EVENTS_URL, CLAUDE_EVENTS_TOKEN,
CLAUDE_EVENTS_TIMEOUT, CLAUDE_EVENTS_WS_URL, then the config file ($CLAUDE_EVENTS_CONFIG or
~/.config/claude-events/config.json). See docs/hook-client.md.
"""


def hook_options(argv: Sequence[str]) -> dict[str, str]:
    """--url and --token-env, parsed by hand: importing argparse would cost the hook milliseconds."""
    options: dict[str, str] = {}
    items = iter(argv)
    for item in items:
        name, has_value, value = item.partition("=")
        if name in ("--url", "--token-env"):
            options[name[2:].replace("-", "_")] = value if has_value else next(items, "")
    return options


def parse_command(argv: Sequence[str]) -> Any:
    import argparse  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog=PROGRAM, description="Send Claude Code hook events to Claude Events.")
    parser.add_argument("--version", action="version", version=f"{PROGRAM} {VERSION}")
    commands = parser.add_subparsers(dest="name", required=True)

    def endpoint_flags(sub: Any) -> None:
        sub.add_argument("--url", help="the endpoint (overrides CLAUDE_EVENTS_URL and the config file)")
        sub.add_argument("--token-env", help=f"read the token from this variable instead of {TOKEN_ENV}")

    for name, text in (("install", "add the hook to Claude Code's settings"), ("uninstall", "remove it")):
        sub = commands.add_parser(name, help=text)
        where = sub.add_mutually_exclusive_group()
        where.add_argument("--user", action="store_true", help="~/.claude/settings.json (the default)")
        where.add_argument("--project", metavar="DIR", help="DIR/.claude/settings.json")
        if name == "install":
            endpoint_flags(sub)
            sub.add_argument("--command", help="the command to write (default: this module under this Python)")
    for name, text in (
        ("doctor", "send a test event, read it back, check the WebSocket"),
        ("flush", "send the spool now, in the foreground"),
        ("status", "spool size, last error, next attempt"),
        ("_sender", argparse.SUPPRESS),
    ):
        endpoint_flags(commands.add_parser(name, help=text))
    return parser.parse_args(argv)


def _run_sender_command(config: Config) -> int:
    run_sender(config)  # the detached sender where there is no fork (Windows)
    return 0


COMMANDS: dict[str, Callable[[Config], int]] = {
    "doctor": lambda config: Doctor(config).run(),
    "flush": cmd_flush,
    "status": cmd_status,
    "_sender": _run_sender_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0].split("=", 1)[0] in ("--url", "--token-env"):
        return run_hook(hook_options(args))
    if args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    parsed = parse_command(args)
    if parsed.name == "install":
        return cmd_install(parsed)
    if parsed.name == "uninstall":
        return cmd_uninstall(parsed)
    config = Config({"url": parsed.url or "", "token_env": parsed.token_env or ""}, os.environ)
    return COMMANDS[parsed.name](config)


if __name__ == "__main__":
    sys.exit(main())
