"""What the server knows about a request beyond its body."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Received:
    at: datetime
    source_ip: str | None
    headers: Mapping[str, str]
    token_name: str | None = None
