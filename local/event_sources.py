"""The template's DynamoDB stream event source mappings: SAM `Type: DynamoDB` events and
AWS::Lambda::EventSourceMapping resources, with Lambda's defaults for what they leave out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from local.event_filter import FilterPatternError, parse_filter_criteria
from local.functions import FunctionDirectory
from local.intrinsics import Resolver, UnresolvableError
from local.resources import EVENT_SOURCE_MAPPING, SERVERLESS_FUNCTION

_STREAM_ARN_MARKER = ":dynamodb:"


@dataclass(frozen=True)
class StreamMapping:
    name: str  # Function.Event, or the mapping's logical id
    function: str
    stream_arn: str
    starting_position: str = "LATEST"
    batch_size: int = 100
    batching_window_seconds: float = 0.0
    filters: tuple[dict[str, Any], ...] = ()
    report_item_failures: bool = False
    bisect_on_error: bool = False
    max_retries: int = -1  # -1: until the record expires
    max_record_age_seconds: int = -1
    on_failure: str | None = None
    enabled: bool = True

    def describe(self) -> str:
        notes = [f"batch {self.batch_size}", f"window {self.batching_window_seconds:g} s"]
        if self.filters:
            notes.append(f"{len(self.filters)} filter(s)")
        return ", ".join(notes)


def stream_mappings(resolver: Resolver, directory: FunctionDirectory) -> list[StreamMapping]:
    resources: dict[str, Any] = resolver.template.get("Resources") or {}
    mappings: list[StreamMapping] = []
    for logical_id, resource in resources.items():
        properties = resource.get("Properties") or {}
        if resource["Type"] == SERVERLESS_FUNCTION:
            for event_name, event in (properties.get("Events") or {}).items():
                if event.get("Type") == "DynamoDB":
                    where = f"{logical_id}.{event_name}"
                    spec = resolver.resolve(event.get("Properties") or {})
                    mappings.append(_mapping(where, logical_id, spec.get("Stream"), spec))
        elif resource["Type"] == EVENT_SOURCE_MAPPING:
            spec = resolver.resolve(properties)
            source = str(spec.get("EventSourceArn", ""))
            if _STREAM_ARN_MARKER not in source:
                continue  # SQS, Kinesis, Kafka…: not emulated; the stack warns about unused functions
            function = directory.find(str(spec.get("FunctionName", "")))
            if function is None:
                raise UnresolvableError(f"{logical_id}: FunctionName is not a function of this template")
            mappings.append(_mapping(logical_id, function, source, spec))
    return mappings


def _mapping(where: str, function: str, stream: Any, spec: Mapping[str, Any]) -> StreamMapping:
    if not isinstance(stream, str) or "/stream/" not in stream:
        raise UnresolvableError(f"{where}: Stream {stream!r} is not a DynamoDB stream ARN")
    try:
        filters = parse_filter_criteria(spec.get("FilterCriteria"))
    except FilterPatternError as error:
        raise UnresolvableError(f"{where}: FilterCriteria: {error}") from None
    position = str(spec.get("StartingPosition", "LATEST"))
    if position not in ("LATEST", "TRIM_HORIZON"):
        raise UnresolvableError(f"{where}: StartingPosition {position} is not emulated")
    destination = ((spec.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    return StreamMapping(
        name=where,
        function=function,
        stream_arn=stream,
        starting_position=position,
        batch_size=int(spec.get("BatchSize", 100)),
        batching_window_seconds=float(spec.get("MaximumBatchingWindowInSeconds", 0)),
        filters=tuple(filters),
        report_item_failures="ReportBatchItemFailures" in (spec.get("FunctionResponseTypes") or []),
        bisect_on_error=_truthy(spec.get("BisectBatchOnFunctionError", False)),
        max_retries=int(spec.get("MaximumRetryAttempts", -1)),
        max_record_age_seconds=int(spec.get("MaximumRecordAgeInSeconds", -1)),
        on_failure=str(destination) if destination else None,
        enabled=_truthy(spec.get("Enabled", True)),
    )


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")
