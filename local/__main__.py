"""`python -m local`: run the service on this machine, with no AWS account and no Docker."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from local.endpoints import PortInUseError, base_url
from local.intrinsics import UnresolvableError
from local.stack import DEFAULT_HOST, DEFAULT_HTTP_PORT, DEFAULT_WS_PORT, LocalStack, StackConfig
from local.template import TEMPLATE
from local.tokens import ADMIN_PATH, TOKEN_ENV, ReadyTokenError

HOST_ENV = "CLAUDE_EVENTS_HOST"
HTTP_PORT_ENV = "CLAUDE_EVENTS_HTTP_PORT"
WS_PORT_ENV = "CLAUDE_EVENTS_WS_PORT"
_EXAMPLE_EVENT = '{"event":"PreToolUse","sessionId":"demo","data":{"tool_name":"Read"}}'

_log = logging.getLogger("local")


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # Every boto3 client would say it found the (fake) credentials in the environment.
    logging.getLogger("botocore.credentials").setLevel(logging.WARNING)
    # Read once, then out of the environment the functions share.
    token = os.environ.pop(TOKEN_ENV, None) or None
    config = StackConfig(
        host=args.host,
        http_port=args.port,
        ws_port=args.ws_port,
        parameters=dict(args.parameter),
        template_path=args.template.resolve(),
        token=token,
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
    except (PortInUseError, ReadyTokenError) as error:
        _log.error("%s", error)
        return 1
    print(banner(stack), flush=True)
    await stopping.wait()
    # Already stopping: a second SIGTERM (a supervisor repeating itself) must not kill the process
    # mid-cleanup, nor after the loop's handlers are gone. A second Ctrl-C still ends it at once.
    # (Unregistered from the loop first, or closing the loop would restore the default handler.)
    loop.remove_signal_handler(signal.SIGTERM)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _log.info("stopping")
    await stack.stop()
    _log.info("stopped")
    return 0


def banner(stack: LocalStack) -> str:
    http = stack.http
    base = base_url("http", http.host, http.port)
    lines = ["Claude Events local stack (template.yaml, in-process moto: no AWS account, no Docker)", ""]
    routes = http.routes.routes
    width = max((len(route.path) for route in routes), default=0) + len(base)
    lines.append(f"HTTP API       {base}")
    for route in routes:
        url = base if route.path == "$default" else f"{base}{route.path}"
        authorizer = http.authorizer(route.route_key)
        auth = f"  (authorizer {authorizer.name})" if authorizer else "  (no auth)"
        lines.append(f"  {route.method:<6} {url:<{width}}  {route.function}{auth}")
    websocket = stack.websocket
    if websocket is not None:
        lines.append(f"WebSocket API  {websocket.url}")
        for key, ws_route in websocket.api.routes.items():
            auth = f"  (authorizer {ws_route.authorizer.name})" if ws_route.authorizer else ""
            lines.append(f"  {key:<14} {ws_route.function or '-'}{auth}")
        lines.append(f"@connections   {websocket.management_url}/@connections/{{connectionId}}")
    if stack.lambda_endpoint is not None:
        lines.append(f"Lambda Invoke  {stack.lambda_endpoint.url}  (asynchronous invocations of the functions)")
    for mapping in stack.mappings:
        lines.append(f"Stream         {mapping.name}: {mapping.describe()}")
    for table in stack.tables:
        notes = [
            note
            for note in (
                "stream" if table.stream_arn else "",
                f"TTL {table.ttl_attribute}" if table.ttl_attribute else "",
            )
            if note
        ]
        lines.append(f"Table          {table.name}" + (f" ({', '.join(notes)})" if notes else ""))
    token = stack.ready_token
    keys = {route.route_key for route in routes}
    if token:
        lines += ["", f"Token (name local, scopes ingest + read, {stack.token_origin}):", f"  {token}"]
        if not stack.config.token:
            lines.append(f"  (set {TOKEN_ENV} to a token to keep it across restarts)")
    bearer = f" -H 'Authorization: Bearer {token}'" if token else ""
    if "POST /api/claude-events" in keys:
        lines += ["", "Try:", f"  curl -sS -X POST {base}/api/claude-events{bearer} \\"]
        lines.append(f"    -H 'content-type: application/json' -d '{_EXAMPLE_EVENT}'")
        if "GET /api/claude-events" in keys:
            lines.append(f"  curl -sS '{base}/api/claude-events?sessionId=demo'{bearer}")
    if websocket is not None:
        query = f"?token={token}&sessionId=demo" if token else "?sessionId=demo"
        lines.append(f"  WebSocket: {websocket.url}{query}")
    if stack.tokens is not None:
        lines.append(f"  Tokens:    python -m cli.tokens --local {base} mint|list|revoke   ({base}{ADMIN_PATH})")
    lines += ["", "Ctrl-C stops it."]
    return "\n".join(lines)


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    parser.add_argument(
        "--host",
        default=os.environ.get(HOST_ENV, DEFAULT_HOST),
        help=f"address both APIs listen on (env {HOST_ENV}; default {DEFAULT_HOST})",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=_port(os.environ.get(HTTP_PORT_ENV, str(DEFAULT_HTTP_PORT))),
        help=f"HTTP API port, 0 for any free one (env {HTTP_PORT_ENV}; default {DEFAULT_HTTP_PORT})",
    )
    parser.add_argument(
        "--ws-port",
        type=_port,
        default=_port(os.environ.get(WS_PORT_ENV, str(DEFAULT_WS_PORT))),
        help=f"WebSocket API port, 0 for any free one (env {WS_PORT_ENV}; default {DEFAULT_WS_PORT})",
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
