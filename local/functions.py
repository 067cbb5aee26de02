"""The template's functions as the local stack runs them: code, handler, limits and environment.

SAM's Globals are merged into each function as SAM does it (maps merged, lists appended,
scalars overridden by the function), then intrinsics are resolved to local values.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.intrinsics import Resolver, UnresolvableError
from local.resources import LAMBDA_FUNCTION, LAYER_TYPES, SERVERLESS_FUNCTION
from local.template import ROOT

# SAM's own defaults when neither the function nor Globals say.
DEFAULT_MEMORY_MB = 128
DEFAULT_TIMEOUT_SECONDS = 3


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    code_dir: Path
    handler: str
    runtime: str
    memory_mb: int
    timeout_seconds: float
    environment: dict[str, str]
    layer_dirs: tuple[Path, ...] = ()

    @property
    def handler_module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def handler_function(self) -> str:
        return self.handler.rsplit(".", 1)[1]


def function_specs(
    resolver: Resolver, root: Path = ROOT, logical_ids: Collection[str] | None = None
) -> dict[str, FunctionSpec]:
    """The template's AWS::Serverless::Functions (those named, or all), by logical id."""
    template = resolver.template
    globals_function = (template.get("Globals") or {}).get("Function") or {}
    specs: dict[str, FunctionSpec] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource["Type"] != SERVERLESS_FUNCTION or (logical_ids is not None and logical_id not in logical_ids):
            continue
        properties = merge_globals(globals_function, resource.get("Properties") or {})
        try:
            specs[logical_id] = _spec(resolver, logical_id, properties, root)
        except (UnresolvableError, KeyError, ValueError) as error:
            raise UnresolvableError(f"{logical_id}: {error}") from error
    return specs


def merge_globals(globals_properties: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's merge: maps merge key by key, lists append the function's to the globals', scalars override."""
    merged = dict(globals_properties)
    for key, value in properties.items():
        base = merged.get(key)
        if isinstance(base, dict) and isinstance(value, dict) and not _is_intrinsic(value):
            merged[key] = merge_globals(base, value)
        elif isinstance(base, list) and isinstance(value, list):
            merged[key] = [*base, *value]
        else:
            merged[key] = value
    return merged


def _spec(resolver: Resolver, logical_id: str, properties: dict[str, Any], root: Path) -> FunctionSpec:
    runtime = resolver.resolve_text(properties.get("Runtime", ""))
    if not runtime.startswith("python"):
        raise UnresolvableError(f"runtime {runtime or '(none)'} is not Python; the local stack runs Python only")
    code_uri = properties.get("CodeUri")
    if not isinstance(code_uri, str):
        raise UnresolvableError("CodeUri must be a local directory")
    handler = resolver.resolve_text(properties["Handler"])
    if "." not in handler:
        raise UnresolvableError(f"Handler {handler!r} is not module.function")
    variables = ((properties.get("Environment") or {}).get("Variables")) or {}
    return FunctionSpec(
        logical_id=logical_id,
        name=resolver.ref(logical_id),
        code_dir=(root / code_uri).resolve(),
        handler=handler,
        runtime=runtime,
        memory_mb=int(resolver.resolve_text(properties.get("MemorySize", DEFAULT_MEMORY_MB))),
        timeout_seconds=float(resolver.resolve_text(properties.get("Timeout", DEFAULT_TIMEOUT_SECONDS))),
        environment={name: resolver.resolve_text(value) for name, value in resolver.resolve(variables).items()},
        layer_dirs=tuple(_layer_dirs(resolver, properties.get("Layers") or [], root)),
    )


def _layer_dirs(resolver: Resolver, layers: list[Any], root: Path) -> list[Path]:
    """The local directories of the function's layers that the template builds from source."""
    resources = resolver.template.get("Resources") or {}
    directories: list[Path] = []
    for layer in layers:
        if not (isinstance(layer, dict) and set(layer) == {"Ref"} and layer["Ref"] in resources):
            raise UnresolvableError(f"layer {layer!r} is not a layer of this template")
        resource = resources[layer["Ref"]]
        content = (resource.get("Properties") or {}).get("ContentUri") or (resource.get("Properties") or {}).get(
            "Content"
        )
        if resource["Type"] not in LAYER_TYPES or not isinstance(content, str):
            raise UnresolvableError(f"layer {layer['Ref']} has no local ContentUri")
        # The source directory is the package root, as load_function_module expects.
        directories.append((root / content).resolve())
    return directories


def _is_intrinsic(value: Mapping[str, Any]) -> bool:
    if len(value) != 1:
        return False
    key = next(iter(value))
    return key in ("Ref", "Condition") or key.startswith("Fn::")


_INTEGRATION_URI = re.compile(r"^arn:[^:]+:apigateway:[^:]*:lambda:path/[^/]+/functions/(?P<function>.+)/invocations$")


@dataclass(frozen=True)
class FunctionDirectory:
    """Finds a template function by what callers call it: name, ARN (qualified or not) or partial ARN."""

    by_name: Mapping[str, str]  # function name -> logical id

    @classmethod
    def of(cls, resolver: Resolver) -> FunctionDirectory:
        resources = resolver.template.get("Resources") or {}
        by_name = {
            resolver.ref(logical_id): logical_id
            for logical_id, resource in resources.items()
            if resource["Type"] in (SERVERLESS_FUNCTION, LAMBDA_FUNCTION) and logical_id in resolver.names
        }
        return cls(by_name)

    def find(self, reference: str) -> str | None:
        """The logical id of `name`, `name:qualifier`, `arn:…:function:name[:qualifier]` or `account:function:name`."""
        parts = reference.split(":")
        if parts[0] == "arn" and len(parts) >= 7 and parts[5] == "function":
            name = parts[6]
        elif len(parts) >= 3 and parts[1] == "function":
            name = parts[2]
        else:
            name = parts[0]
        return self.by_name.get(name)

    def from_integration_uri(self, uri: str) -> str | None:
        """The function an API Gateway integration or authorizer URI invokes (or a bare function ARN)."""
        match = _INTEGRATION_URI.match(uri)
        return self.find(match.group("function") if match else uri)
