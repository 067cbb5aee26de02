"""Loads a function's `app.lambda_handler` in isolation and gives it a Lambda-like context."""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from local.template import ROOT

SHARED = ROOT / "shared"
Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
    timeout_seconds: float = 10.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

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


def load_function_module(code_dir: str | Path, module_name: str | None = None) -> ModuleType:
    """Import <code_dir>/app.py under a module name of its own, with the shared layer importable."""
    directory = Path(code_dir)
    if not directory.is_absolute():
        directory = ROOT / directory
    if str(SHARED) not in sys.path:
        sys.path.insert(0, str(SHARED))
    name = module_name or f"functions_{directory.name}_app"
    spec = importlib.util.spec_from_file_location(name, directory / "app.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"no app.py in {directory}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
