"""The Lambda Invoke API on loopback, for the handlers' own boto3 "lambda" clients (AWS_ENDPOINT_URL_LAMBDA).

`POST /2015-03-31/functions/{FunctionName}/invocations` with `X-Amz-Invocation-Type: Event` answers
202 at once and runs the function on the stack's worker, after whatever is already queued there,
as Lambda's asynchronous invocation does (ws_connect's history replay). `DryRun` answers 204.
FunctionName may be a name, an ARN (with a qualifier or not) or a partial ARN.

`RequestResponse` is refused: every function runs on one worker thread, so a handler waiting for
another invocation would wait for itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import uuid
from typing import Any

from aiohttp import web

from local.endpoints import base_url, bound_port
from local.functions import FunctionDirectory
from local.intrinsics import ACCOUNT_ID, REGION
from local.lambda_runtime import LambdaRuntime

# Lambda's limit for an asynchronous invocation's payload.
MAX_ASYNC_PAYLOAD_BYTES = 1024 * 1024
_INVOKE_PATH = "/2015-03-31/functions/{name}/invocations"

_log = logging.getLogger("local.lambda")


class LambdaEndpoint:
    def __init__(self, runtime: LambdaRuntime, directory: FunctionDirectory, sock: socket.socket) -> None:
        self._runtime = runtime
        self._directory = directory
        self._sock = sock
        self._runner: web.AppRunner | None = None
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        host, _ = self._sock.getsockname()[:2]
        return base_url("http", str(host), bound_port(self._sock))

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_ASYNC_PAYLOAD_BYTES * 7)
        app.router.add_post(_INVOKE_PATH, self._invoke)
        app.router.add_route("*", "/{path:.*}", self._unknown)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for task in list(self._pending):
            task.cancel()
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def _invoke(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        function = self._directory.find(name)
        if function is None or not self._runtime.has(function):
            arn = name if name.startswith("arn:") else f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"
            return lambda_error(404, "ResourceNotFoundException", f"Function not found: {arn}")
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        body = await request.read()
        if invocation_type == "DryRun":
            return web.Response(status=204, headers=_request_id())
        if invocation_type != "Event":
            return lambda_error(
                400,
                "InvalidParameterValueException",
                f"the local stack runs {invocation_type} invocations only from outside the stack: use Event "
                "(every function shares one worker, so a synchronous call from a handler would wait for itself)",
            )
        if len(body) > MAX_ASYNC_PAYLOAD_BYTES:
            return lambda_error(
                413,
                "RequestTooLargeException",
                f"Request must be smaller than {MAX_ASYNC_PAYLOAD_BYTES} bytes for the InvokeAsync operation",
            )
        try:
            event = json.loads(body) if body else {}
        except ValueError:
            return lambda_error(400, "InvalidRequestContentException", "Could not parse request body into json")
        task = asyncio.create_task(self._run(function, event), name=f"async invocation of {function}")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return web.Response(status=202, headers=_request_id())

    async def _run(self, function: str, event: Any) -> None:
        outcome = await self._runtime.invoke(function, event)
        if outcome.failed:
            # Lambda would retry twice, a minute or two apart; locally the failure is only logged.
            _log.error("asynchronous invocation of %s (%s) failed", function, outcome.request_id)
        else:
            _log.info("asynchronous invocation of %s %.1f ms", function, outcome.duration_seconds * 1000)

    async def _unknown(self, request: web.Request) -> web.Response:
        return lambda_error(404, "UnknownOperationException", f"the local Lambda endpoint has no {request.path}")


def lambda_error(status: int, code: str, message: str) -> web.Response:
    """An error as the Lambda API sends it (botocore reads the type from the header and the body)."""
    body = json.dumps({"Type": "User", "message": message})
    headers = {"x-amzn-ErrorType": code, **_request_id()}
    return web.Response(status=status, text=body, content_type="application/json", headers=headers)


def _request_id() -> dict[str, str]:
    return {"x-amzn-RequestId": str(uuid.uuid4())}
