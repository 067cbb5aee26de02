"""Where the local stack listens, and the local URL of each API the template resolves to an AWS one.

The template builds API URLs with `!Sub "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}"`;
resolved, that names an AWS host. Each such URL of a local API is rewritten to where the local stack
serves it, so a function's `WEBSOCKET_MANAGEMENT_URL` reaches the local @connections endpoint.
The sockets are bound before anything is resolved, so a port 0 is already a real port here.
"""

from __future__ import annotations

import errno
import ipaddress
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

_WILDCARD_HOSTS = ("0.0.0.0", "", "::")  # noqa: S104 - compared, not bound


class PortInUseError(OSError):
    def __init__(self, what: str, host: str, port: int, option: str) -> None:
        super().__init__(
            errno.EADDRINUSE, f"cannot listen on {host}:{port} for the {what}: the port is in use ({option})"
        )


def bind(host: str, port: int, what: str, option: str) -> socket.socket:
    """A listening TCP socket (SO_REUSEADDR, as aiohttp sets it); PortInUseError names the option to change."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=512)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortInUseError(what, host, port, option) from None
        raise


def is_loopback(remote: str | None) -> bool:
    """Whether a peer address is loopback (127.0.0.0/8, ::1, or ::ffff:127.x)."""
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def bound_port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


def display_host(host: str) -> str:
    """The host to put in a URL for a server bound to `host` (a wildcard address means loopback here)."""
    shown = "127.0.0.1" if host in _WILDCARD_HOSTS else host
    return f"[{shown}]" if ":" in shown else shown


def base_url(scheme: str, host: str, port: int) -> str:
    return f"{scheme}://{display_host(host)}:{port}"


@dataclass
class LocalUrls:
    """AWS URLs of the template's APIs -> their local URLs."""

    _rules: list[tuple[re.Pattern[str], str]] = field(default_factory=list)

    def add_api(self, api_id: str, http_base: str, stage: str | None, *, keep_stage: bool) -> None:
        """`https://<api_id>.execute-api.<region>.amazonaws.com[/<stage>]` (and wss://) -> `http_base`.

        `keep_stage`: the local server serves the API under its stage path (the WebSocket API does;
        the local HTTP API is served at the root, as its $default stage would be).
        """
        stage_part = rf"(?:/{re.escape(stage)}(?![^/?#\s]))?" if stage and not keep_stage else ""
        pattern = re.compile(
            rf"\b(https|wss?)://{re.escape(api_id)}\.execute-api\.[a-z0-9-]+\.amazonaws\.com{stage_part}"
        )
        self._rules.append((pattern, http_base))

    def localize(self, text: str) -> str:
        for pattern, http_base in self._rules:
            text = pattern.sub(_replacement(http_base), text)
        return text

    def localize_all(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {name: self.localize(value) if isinstance(value, str) else value for name, value in values.items()}


def _replacement(http_base: str) -> Callable[[re.Match[str]], str]:
    return lambda match: _scheme_for(match.group(1), http_base)


def _scheme_for(aws_scheme: str, http_base: str) -> str:
    """wss:// URLs become ws://, https:// become http:// (the local stack has no TLS)."""
    if aws_scheme.startswith("ws"):
        return "ws://" + http_base.split("://", 1)[1]
    return http_base
