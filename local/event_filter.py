"""Lambda event filtering (an event source mapping's FilterCriteria), applied to records as Lambda does.

A record passes when any filter's pattern matches it. A pattern is a JSON object whose keys name
fields of the record; a nested object descends into the field, a list holds the values any of
which the field may match. Values are exact (strings, numbers compared as numbers, true/false,
null) or one of the comparison operators Lambda supports:

    {"prefix": "s"}  {"suffix": "s"}  {"equals-ignore-case": "s"}  {"exists": true|false}
    {"anything-but": value | [values] | {"prefix": "s"} | {"suffix": "s"}}
    {"numeric": [">", 0, "<=", 5]}  {"wildcard": "a*b"}

A field holding a list matches when any of its items does. `"$or": [pattern, …]` matches when any
of the patterns does. Records that match no filter are dropped without invoking the function.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_MISSING: Any = object()
_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class FilterPatternError(ValueError):
    """A FilterCriteria pattern Lambda would refuse."""


def parse_filter_criteria(criteria: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The patterns of `FilterCriteria: {Filters: [{Pattern: "<json>"}, …]}`, checked."""
    patterns: list[dict[str, Any]] = []
    for item in (criteria or {}).get("Filters") or []:
        text = item.get("Pattern") if isinstance(item, Mapping) else None
        try:
            pattern = json.loads(text) if isinstance(text, str) else text
        except ValueError as error:
            raise FilterPatternError(f"filter pattern is not JSON: {error}") from None
        if not isinstance(pattern, dict):
            raise FilterPatternError("a filter pattern must be a JSON object")
        _check(pattern)
        patterns.append(pattern)
    return patterns


def passes(patterns: Sequence[Mapping[str, Any]], record: Mapping[str, Any]) -> bool:
    """Whether a record passes the filters (no filters: every record passes)."""
    return not patterns or any(matches(pattern, record) for pattern in patterns)


def matches(pattern: Mapping[str, Any], value: Any) -> bool:
    """Whether `value` (a JSON object) matches the pattern object."""
    fields = value if isinstance(value, Mapping) else {}
    for key, rule in pattern.items():
        if key == "$or":
            if not any(matches(alternative, value) for alternative in rule):
                return False
            continue
        field = fields.get(key, _MISSING)
        if isinstance(rule, Mapping):
            if field is _MISSING or not isinstance(field, Mapping):
                field = {}
            if not matches(rule, field):
                return False
        elif not any(_matches_value(condition, field) for condition in rule):
            return False
    return True


def _matches_value(condition: Any, field: Any) -> bool:
    if isinstance(condition, Mapping):
        return _matches_operator(condition, field)
    if field is _MISSING:
        return False
    if isinstance(field, list):
        return any(_equal(condition, item) for item in field)
    return _equal(condition, field)


def _equal(expected: Any, actual: Any) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return float(expected) == float(actual)
    return isinstance(expected, str) and isinstance(actual, str) and expected == actual


def _matches_operator(condition: Mapping[str, Any], field: Any) -> bool:
    ((name, argument),) = condition.items()
    if name == "exists":
        return (field is not _MISSING) is bool(argument)
    if field is _MISSING:
        return False
    items = field if isinstance(field, list) else [field]
    return any(_operator_on(name, argument, item) for item in items)


def _operator_on(name: str, argument: Any, item: Any) -> bool:
    if name not in _OPERATORS:
        raise FilterPatternError(f"unknown filter operator {name!r}")
    return _OPERATORS[name](argument, item)


def _numeric(bounds: list[Any], item: Any) -> bool:
    if isinstance(item, bool) or not isinstance(item, (int, float)):
        return False
    pairs = zip(bounds[::2], bounds[1::2], strict=True)
    return all(_NUMERIC[symbol](float(item), float(bound)) for symbol, bound in pairs)


def _wildcard(pattern: str, item: Any) -> bool:
    regex = "".join(".*" if char == "*" else re.escape(char) for char in pattern)
    return isinstance(item, str) and re.fullmatch(regex, item, flags=re.DOTALL) is not None


def _anything_but(argument: Any, item: Any) -> bool:
    if isinstance(argument, Mapping):
        return not _matches_operator(argument, item)
    excluded = argument if isinstance(argument, list) else [argument]
    return not any(_equal(value, item) for value in excluded)


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "prefix": lambda argument, item: isinstance(item, str) and item.startswith(argument),
    "suffix": lambda argument, item: isinstance(item, str) and item.endswith(argument),
    "equals-ignore-case": lambda argument, item: isinstance(item, str) and item.casefold() == str(argument).casefold(),
    "wildcard": _wildcard,
    "numeric": _numeric,
    "anything-but": _anything_but,
}


def _check(pattern: Mapping[str, Any]) -> None:
    for key, rule in pattern.items():
        if key == "$or":
            if not isinstance(rule, list) or len(rule) < 2 or not all(isinstance(item, dict) for item in rule):
                raise FilterPatternError('"$or" takes a list of at least two patterns')
            for alternative in rule:
                _check(alternative)
        elif isinstance(rule, Mapping):
            _check(rule)
        elif not isinstance(rule, list) or not rule:
            raise FilterPatternError(f"{key!r}: a pattern's values must be a non-empty list or an object")
        else:
            for condition in rule:
                if isinstance(condition, Mapping):
                    _check_operator(key, condition)
                elif isinstance(condition, list):
                    raise FilterPatternError(f"{key!r}: a value to match cannot be a list")


def _check_operator(key: str, condition: Mapping[str, Any]) -> None:
    if len(condition) != 1:
        raise FilterPatternError(f"{key!r}: an operator object has exactly one operator")
    ((name, argument),) = condition.items()
    valid = {
        "prefix": isinstance(argument, str),
        "suffix": isinstance(argument, str),
        "equals-ignore-case": isinstance(argument, str),
        "wildcard": isinstance(argument, str),
        "exists": isinstance(argument, bool),
        "anything-but": argument is not None,
        "numeric": isinstance(argument, list)
        and 0 < len(argument) <= 4
        and len(argument) % 2 == 0
        and all(symbol in _NUMERIC for symbol in argument[::2])
        and all(isinstance(bound, (int, float)) and not isinstance(bound, bool) for bound in argument[1::2]),
    }
    if name not in valid:
        raise FilterPatternError(f"{key!r}: unknown filter operator {name!r}")
    if not valid[name]:
        raise FilterPatternError(f"{key!r}: bad argument for {name!r}: {argument!r}")
