"""Loads a function's handler in isolation, gives it a Lambda-like context, and invokes it."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from local import environment
from local.environment import Environments
from local.functions import FunctionSpec
from local.intrinsics import ACCOUNT_ID, REGION
from local.template import ROOT

SHARED = ROOT / "shared"
Handler = Callable[[dict[str, Any], Any], Any]
ExpectedError = Callable[[BaseException], bool]
_log = logging.getLogger(__name__)


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
    timeout_seconds: float = 10.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000))


def load_function_module(
    code_dir: str | Path,
    module_name: str | None = None,
    *,
    module: str = "app",
    layer_dirs: Iterable[Path] = (SHARED,),
) -> ModuleType:
    """Import <code_dir>/<module>.py under a module name of its own, with its layers importable."""
    directory = Path(code_dir)
    if not directory.is_absolute():
        directory = ROOT / directory
    for layer in layer_dirs:
        if str(layer) not in sys.path:
            sys.path.insert(0, str(layer))
    name = module_name or f"functions_{directory.name}_{module.replace('.', '_')}"
    source = directory / (module.replace(".", "/") + ".py")
    spec = importlib.util.spec_from_file_location(name, source)
    if spec is None or spec.loader is None:
        raise ImportError(f"no {source.name} in {directory}")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    spec.loader.exec_module(loaded)
    return loaded


@dataclass(frozen=True)
class Invocation:
    """What one invocation came to: the handler's return value, or the error it raised."""

    function: str
    request_id: str
    result: Any = None
    error: BaseException | None = None
    duration_seconds: float = 0.0
    timed_out: bool = False

    @property
    def failed(self) -> bool:
        return self.error is not None or self.timed_out


class LambdaRuntime:
    """Runs the template's Python handlers in this process, off the event loop, one at a time.

    One at a time, as one Lambda execution environment does: the handlers share this process,
    and some of their libraries keep per-invocation state in process-wide places (Powertools'
    event handler stores the current event on a class attribute, `BaseRouter.current_event`,
    and its Metrics buffer is shared by all instances), so two concurrent invocations would
    read each other's requests. A single worker thread keeps the event loop free to serve
    while a handler runs.
    """

    def __init__(self, functions: Mapping[str, FunctionSpec], environments: Environments) -> None:
        self._functions = dict(functions)
        self._environments = environments
        self._handlers: dict[str, Handler] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lambda")

    def load(self) -> None:
        """Import every function's handler now, so a broken one fails at startup, not on a request."""
        for logical_id, spec in self._functions.items():
            with environment.applied(self._overlay(spec)):
                loaded = load_function_module(
                    spec.code_dir,
                    module_name=f"local_function_{logical_id}",
                    module=spec.handler_module,
                    layer_dirs=spec.layer_dirs,
                )
            handler = getattr(loaded, spec.handler_function, None)
            if not callable(handler):
                raise ImportError(f"{logical_id}: {spec.handler} is not a function")
            self._handlers[logical_id] = handler

    def has(self, function: str) -> bool:
        return function in self._handlers

    async def invoke(self, function: str, event: Any, *, expected: ExpectedError | None = None) -> Invocation:
        """Invoke on the worker thread, after what is queued there.

        `expected`: errors that are answers, not faults (an authorizer's "Unauthorized"), logged
        in one line instead of with their traceback.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.invoke_now, function, event, expected)

    def invoke_now(self, function: str, event: Any, expected: ExpectedError | None = None) -> Invocation:
        """Invoke in the calling thread (the worker thread, when called through `invoke`)."""
        spec = self._functions[function]
        handler = self._handlers[function]
        context = LambdaContext(
            function_name=spec.name, memory_limit_in_mb=spec.memory_mb, timeout_seconds=spec.timeout_seconds
        )
        started = time.monotonic()
        try:
            with environment.applied(self._overlay(spec)):
                result = handler(event, context)
        except Exception as error:
            if expected is not None and expected(error):
                _log.info("%s (%s) raised %s: %s", function, context.aws_request_id, type(error).__name__, error)
            else:
                _log.exception("%s (%s) raised %s", function, context.aws_request_id, type(error).__name__)
            return Invocation(function, context.aws_request_id, error=error, duration_seconds=_since(started))
        duration = _since(started)
        if duration > spec.timeout_seconds:
            # Lambda would have stopped it here; a thread cannot be stopped, so report what Lambda would.
            _log.error("%s (%s): Task timed out after %.2f seconds", function, context.aws_request_id, duration)
            return Invocation(function, context.aws_request_id, duration_seconds=duration, timed_out=True)
        return Invocation(function, context.aws_request_id, result=result, duration_seconds=duration)

    def _overlay(self, spec: FunctionSpec) -> dict[str, str | None]:
        """What is set around this function's code: Lambda's reserved variables, then its conflicts."""
        reserved: dict[str, str | None] = {
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        }
        return {**reserved, **self._environments.overlay(spec.logical_id)}

    def close(self, wait_seconds: float = 10.0) -> None:
        """Drop queued invocations and let the running one finish (up to a Lambda timeout).

        moto stops right after: an invocation still running then would reach for real AWS.
        """
        stopper = threading.Thread(target=self._executor.shutdown, kwargs={"wait": True, "cancel_futures": True})
        stopper.start()
        stopper.join(wait_seconds)


def _since(started: float) -> float:
    return time.monotonic() - started
