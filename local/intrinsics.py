"""Resolves CloudFormation intrinsics (Ref, Fn::GetAtt, Fn::Sub, …) to the local stack's values.

Only what the local stack reads is resolved (function settings, table properties), so an
intrinsic it cannot give a local value fails loudly here instead of reaching a handler as a
dict in an environment variable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
STACK_NAME = "claude-events-local"
# Fixed, so what derives from it (the query function's cursor signing key) survives restarts.
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{STACK_NAME}/00000000-0000-0000-0000-000000000000"

PSEUDO_PARAMETERS: dict[str, str] = {
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::Region": REGION,
    "AWS::StackName": STACK_NAME,
    "AWS::StackId": STACK_ID,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}
NO_VALUE = "AWS::NoValue"
_NO_VALUE: Any = object()
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class UnresolvableError(ValueError):
    """The template uses an intrinsic, or refers to an attribute, the local stack has no value for."""


@dataclass
class Resolver:
    """Local values of a template's parameters and resources.

    `names` holds what `Ref` of a resource returns (its physical id), `attributes` what
    `Fn::GetAtt` returns; both are filled as the stack creates things.
    """

    template: Mapping[str, Any]
    parameters: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def for_template(cls, template: Mapping[str, Any], overrides: Mapping[str, str] | None = None) -> Resolver:
        declared = template.get("Parameters") or {}
        unknown = sorted(set(overrides or {}) - set(declared))
        if unknown:
            raise UnresolvableError(f"no such template parameter: {', '.join(unknown)}")
        parameters: dict[str, str] = {}
        for name, spec in declared.items():
            if name in (overrides or {}):
                parameters[name] = str((overrides or {})[name])
            elif "Default" in spec:
                parameters[name] = _scalar_text(spec["Default"])
        return cls(template=template, parameters=parameters)

    # Values ---------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """`value` with every intrinsic replaced; items whose value is AWS::NoValue are dropped."""
        resolved = self._resolve(value)
        return None if resolved is _NO_VALUE else resolved

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self._resolve(item) for item in value]
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return _NO_VALUE if argument == NO_VALUE else self.ref(argument)
            if key.startswith("Fn::"):
                return self._function(key, argument)
        resolved = {key: self._resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def resolve_text(self, value: Any) -> str:
        """A value that must end up a string (an environment variable, a name)."""
        resolved = self.resolve(value)
        if resolved is None or isinstance(resolved, (dict, list)):
            raise UnresolvableError(f"expected a string, got {resolved!r}")
        return _scalar_text(resolved)

    def ref(self, name: str) -> str:
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in (self.template.get("Parameters") or {}):
            raise UnresolvableError(f"parameter {name} has no Default; pass --parameter {name}=VALUE")
        if name in self.names:
            return self.names[name]
        if name in (self.template.get("Resources") or {}):
            raise UnresolvableError(f"Ref {name}: the local stack gives this resource no local value yet")
        raise UnresolvableError(f"Ref {name}: no such parameter or resource")

    def get_att(self, logical_id: str, attribute: str) -> str:
        try:
            return self.attributes[(logical_id, attribute)]
        except KeyError:
            raise UnresolvableError(
                f"Fn::GetAtt {logical_id}.{attribute}: the local stack gives this attribute no local value yet"
            ) from None

    # Functions ------------------------------------------------------------------------

    def _function(self, name: str, argument: Any) -> Any:
        functions = {
            "Fn::GetAtt": self._get_att_function,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::If": self._if,
            "Fn::FindInMap": self._find_in_map,
        }
        if name not in functions:
            raise UnresolvableError(f"{name} is not supported by the local stack")
        return functions[name](argument)

    def _get_att_function(self, argument: Any) -> str:
        logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
        return self.get_att(self.resolve_text(logical_id), self.resolve_text(attribute))

    def _join(self, argument: Any) -> str:
        separator, items = argument
        return self.resolve_text(separator).join(self.resolve_text(item) for item in self.resolve(items))

    def _select(self, argument: Any) -> Any:
        index, items = argument
        return self.resolve(items)[int(self.resolve_text(index))]

    def _split(self, argument: Any) -> list[str]:
        separator, text = argument
        return self.resolve_text(text).split(self.resolve_text(separator))

    def _if(self, argument: Any) -> Any:
        condition, when_true, when_false = argument
        return self._resolve(when_true if self.condition(condition) else when_false)

    def _find_in_map(self, argument: Any) -> Any:
        map_name, top, second = (self.resolve_text(part) for part in argument)
        return self._resolve(self.template["Mappings"][map_name][top][second])

    def condition(self, name: str) -> bool:
        """The value of a condition the template's Conditions section declares."""
        conditions = self.template.get("Conditions") or {}
        if name not in conditions:
            raise UnresolvableError(f"no such condition: {name}")
        return self._truth(conditions[name])

    def _truth(self, expression: Any) -> bool:
        if isinstance(expression, dict) and len(expression) == 1:
            ((key, argument),) = expression.items()
            if key == "Condition":
                return self.condition(argument)
            if key == "Fn::Equals":
                left, right = argument
                return self.resolve_text(left) == self.resolve_text(right)
            if key == "Fn::Not":
                return not self._truth(argument[0])
            if key == "Fn::And":
                return all(self._truth(item) for item in argument)
            if key == "Fn::Or":
                return any(self._truth(item) for item in argument)
        return self.resolve_text(expression).lower() == "true"

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        local = {name: self.resolve_text(value) for name, value in variables.items()}

        def replace(match: re.Match[str]) -> str:
            reference = match.group(1).strip()
            if reference in local:
                return local[reference]
            if "." in reference and not reference.startswith("AWS::"):
                logical_id, attribute = reference.split(".", 1)
                return self.get_att(logical_id, attribute)
            return self.ref(reference)

        # ${!Literal} stands for the text ${Literal}.
        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
