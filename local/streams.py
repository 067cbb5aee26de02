"""DynamoDB stream records as the Lambda service hands them to a function."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any


def lambda_stream_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A record from boto3's `get_records` in Lambda's JSON shape: binary as base64, time as epoch."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = created.timestamp()
    for image in ("Keys", "NewImage", "OldImage"):
        if image in change:
            change[image] = {name: _json_attribute(value) for name, value in change[image].items()}
    shaped = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", "us-east-1"),
        "eventSourceARN": stream_arn,
        "dynamodb": change,
    }
    # Present only on the REMOVE records of TTL deletions ({"type": "Service", "principalId": ...}).
    if "userIdentity" in record:
        shaped["userIdentity"] = dict(record["userIdentity"])
    return shaped


def lambda_stream_event(records: list[dict[str, Any]], stream_arn: str) -> dict[str, Any]:
    return {"Records": [lambda_stream_record(record, stream_arn) for record in records]}


def _json_attribute(value: dict[str, Any]) -> dict[str, Any]:
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(part).decode() for part in inner]}
    if kind == "M":
        return {"M": {name: _json_attribute(child) for name, child in inner.items()}}
    if kind == "L":
        return {"L": [_json_attribute(child) for child in inner]}
    return value
