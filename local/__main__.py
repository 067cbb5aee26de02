"""`python -m local`: run the service on this machine, with no AWS account and no Docker."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from local.intrinsics import UnresolvableError
from local.stack import DEFAULT_HOST, DEFAULT_HTTP_PORT, LocalStack, StackConfig
from local.template import TEMPLATE

HOST_ENV = "CLAUDE_EVENTS_HOST"
HTTP_PORT_ENV = "CLAUDE_EVENTS_HTTP_PORT"
_EXAMPLE_EVENT = '{"event":"PreToolUse","sessionId":"demo","data":{"tool_name":"Read"}}'

_log = logging.getLogger("local")


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # Every boto3 client would say it found the (fake) credentials in the environment.
    logging.getLogger("botocore.credentials").setLevel(logging.WARNING)
    config = StackConfig(
        host=args.host, http_port=args.port, parameters=dict(args.parameter), template_path=args.template.resolve()
    )
    try:
        return asyncio.run(_serve(config))
    except KeyboardInterrupt:  # a second Ctrl-C while stopping
        return 0


async def _serve(config: StackConfig) -> int:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stopping.set)
    stack = LocalStack(config)
    try:
        await stack.start()
    except UnresolvableError as error:
        _log.error("%s: %s", config.template_path.name, error)
        return 1
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            _log.error("cannot listen on %s:%d: the port is in use (pass --port)", config.host, config.http_port)
            return 1
        raise
    print(banner(stack), flush=True)
    await stopping.wait()
    _log.info("stopping")
    await stack.stop()
    _log.info("stopped")
    return 0


def banner(stack: LocalStack) -> str:
    http = stack.http
    host = "127.0.0.1" if http.host in ("0.0.0.0", "", "::") else http.host  # noqa: S104 - display only
    base = f"http://[{host}]:{http.port}" if ":" in host else f"http://{host}:{http.port}"
    lines = ["Claude Events local stack (template.yaml, in-process moto: no AWS account, no Docker)", ""]
    routes = http.routes.routes
    width = max((len(route.path) for route in routes), default=0) + len(base)
    for route in routes:
        url = base if route.path == "$default" else f"{base}{route.path}"
        lines.append(f"  HTTP API  {route.method:<6} {url:<{width}}  {route.function}")
    for table in stack.tables:
        notes = [
            note
            for note in (
                "stream" if table.stream_arn else "",
                f"TTL {table.ttl_attribute}" if table.ttl_attribute else "",
            )
            if note
        ]
        lines.append(f"  Table     {table.name}" + (f" ({', '.join(notes)})" if notes else ""))
    keys = {route.route_key for route in routes}
    if "POST /api/claude-events" in keys:
        lines += ["", "Try:", f"  curl -sS -X POST {base}/api/claude-events -H 'content-type: application/json' \\"]
        lines.append(f"    -d '{_EXAMPLE_EVENT}'")
        if "GET /api/claude-events" in keys:
            lines.append(f"  curl -sS '{base}/api/claude-events?sessionId=demo'")
    lines += ["", "Ctrl-C stops it."]
    return "\n".join(lines)


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    parser.add_argument(
        "--host",
        default=os.environ.get(HOST_ENV, DEFAULT_HOST),
        help=f"address to listen on (env {HOST_ENV}; default {DEFAULT_HOST})",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=_port(os.environ.get(HTTP_PORT_ENV, str(DEFAULT_HTTP_PORT))),
        help=f"HTTP API port, 0 for any free one (env {HTTP_PORT_ENV}; default {DEFAULT_HTTP_PORT})",
    )
    parser.add_argument(
        "--template", type=Path, default=TEMPLATE, help="the SAM template to run (default: template.yaml)"
    )
    parser.add_argument(
        "--parameter",
        action="append",
        type=_parameter,
        default=[],
        metavar="NAME=VALUE",
        help="override a template parameter's Default, e.g. --parameter LogLevel=DEBUG (repeatable)",
    )
    return parser.parse_args(argv)


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number")
    return int(text)


def _parameter(text: str) -> tuple[str, str]:
    name, separator, value = text.partition("=")
    if not separator or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


if __name__ == "__main__":
    sys.exit(main())
