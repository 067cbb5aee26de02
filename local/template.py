"""Reads template.yaml (CloudFormation short-form tags included) into plain data."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no PyYAML stubs in the dev environment

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"

_TABLE_PROPERTIES = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "ProvisionedThroughput",
    "StreamSpecification",
    "TableClass",
)
# What a CloudFormation index may declare that CreateTable does not take.
_CLOUDFORMATION_ONLY_INDEX_PROPERTIES = frozenset({"ContributorInsightsSpecification"})


class _CloudFormationLoader(yaml.SafeLoader):  # type: ignore[misc]
    pass


def _short_form(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    # !Condition is the one short form whose long form has no "Fn::" prefix.
    return {tag_suffix if tag_suffix in ("Ref", "Condition") else f"Fn::{tag_suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _short_form)


@cache
def load(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as handle:
        template: dict[str, Any] = yaml.load(handle, Loader=_CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
        return template


def resources_of_type(resource_type: str, path: Path = TEMPLATE) -> dict[str, dict[str, Any]]:
    return {name: resource for name, resource in load(path)["Resources"].items() if resource["Type"] == resource_type}


def create_table_arguments(logical_id: str, table_name: str, path: Path = TEMPLATE) -> dict[str, Any]:
    """boto3 create_table arguments for a table resource, as the template declares it."""
    properties = load(path)["Resources"][logical_id]["Properties"]
    arguments: dict[str, Any] = {"TableName": table_name}
    arguments.update({name: properties[name] for name in _TABLE_PROPERTIES if name in properties})
    for indexes in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if indexes in arguments:
            arguments[indexes] = [
                {name: value for name, value in index.items() if name not in _CLOUDFORMATION_ONLY_INDEX_PROPERTIES}
                for index in arguments[indexes]
            ]
    if "StreamSpecification" in arguments:
        arguments["StreamSpecification"] = {"StreamEnabled": True, **arguments["StreamSpecification"]}
    return arguments


def time_to_live_attribute(logical_id: str, path: Path = TEMPLATE) -> str | None:
    spec = load(path)["Resources"][logical_id]["Properties"].get("TimeToLiveSpecification")
    return spec["AttributeName"] if spec and spec.get("Enabled") else None
