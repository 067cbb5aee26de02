"""Posting to one WebSocket connection through the @connections API, with its failure modes."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient

THROTTLE_RETRIES = 4
THROTTLE_BASE_DELAY = 0.05


class Delivered(Enum):
    SENT = "sent"
    GONE = "gone"  # 410: the connection is closed (or not established yet)
    FAILED = "failed"  # anything else: 5xx, 403, a network error, or still throttled after retries


class Poster:
    """Posts messages to connections: 429 retried with jittered backoff, 410 reported as GONE."""

    def __init__(
        self,
        client: ApiGatewayManagementApiClient,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self.throttled = 0

    def post(self, connection_id: str, data: bytes) -> Delivered:
        for attempt in range(THROTTLE_RETRIES + 1):
            try:
                self._client.post_to_connection(ConnectionId=connection_id, Data=data)
            # GoneException subclasses ClientError: it must be caught first.
            except self._client.exceptions.GoneException:
                return Delivered.GONE
            except self._client.exceptions.LimitExceededException:
                with self._lock:
                    self.throttled += 1
                if attempt == THROTTLE_RETRIES:
                    return Delivered.FAILED
                self._sleep(THROTTLE_BASE_DELAY * 2**attempt * (0.5 + random.random()))  # noqa: S311 - jitter
            # Anything else fails this post only: a timeout or a dropped connection (BotoCoreError) must
            # not escape and take the rest of a fan-out down with it.
            except (ClientError, BotoCoreError):
                return Delivered.FAILED
            else:
                return Delivered.SENT
        return Delivered.FAILED

    def post_when_established(self, connection_id: str, data: bytes, deadline: float) -> Delivered:
        """Post to a connection that may still be opening: retry 410 until `deadline`.

        A $connect handler returns before API Gateway establishes the connection; until then a post
        answers 410 like a closed connection does.
        """
        delay = 0.05
        while True:
            outcome = self.post(connection_id, data)
            if outcome is not Delivered.GONE or self._clock() + delay > deadline:
                return outcome
            self._sleep(delay)
            delay = min(delay * 2, 0.5)
