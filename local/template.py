"""Reads template.yaml (CloudFormation short-form tags included) into plain data."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"

_TABLE_PROPERTIES = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "StreamSpecification",
)


class _CloudFormationLoader(yaml.SafeLoader):
    pass


def _short_form(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {"Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _short_form)


@cache
def load(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as handle:
        return yaml.load(handle, Loader=_CloudFormationLoader)  # noqa: S506 - SafeLoader subclass


def resources_of_type(resource_type: str, path: Path = TEMPLATE) -> dict[str, dict[str, Any]]:
    return {name: resource for name, resource in load(path)["Resources"].items() if resource["Type"] == resource_type}


def create_table_arguments(logical_id: str, table_name: str, path: Path = TEMPLATE) -> dict[str, Any]:
    """boto3 create_table arguments for a table resource, as the template declares it."""
    properties = load(path)["Resources"][logical_id]["Properties"]
    arguments: dict[str, Any] = {"TableName": table_name}
    arguments.update({name: properties[name] for name in _TABLE_PROPERTIES if name in properties})
    if "StreamSpecification" in arguments:
        arguments["StreamSpecification"] = {"StreamEnabled": True, **arguments["StreamSpecification"]}
    return arguments


def time_to_live_attribute(logical_id: str, path: Path = TEMPLATE) -> str | None:
    spec = load(path)["Resources"][logical_id]["Properties"].get("TimeToLiveSpecification")
    return spec["AttributeName"] if spec and spec.get("Enabled") else None
