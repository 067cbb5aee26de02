"""Function environments in one shared process.

In Lambda each function has its own environment; here all of them share `os.environ`. Variables
on which the functions agree (or which only one declares) are set once, at startup, so that code
reading them at import or caching them (`functools.cache` settings, the Powertools singletons) sees
them. A variable that two functions set to different values is a conflict: it is set around each
invocation to the invoked function's value (invocations run one at a time), which is right for
code that reads it per call but not for anything in the shared layer that cached the first value
it saw. Conflicts are reported at startup.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from local.functions import FunctionSpec


@dataclass(frozen=True)
class Conflict:
    variable: str
    values: dict[str, str | None]  # function logical id -> its value (None: not set)

    def describe(self) -> str:
        values = ", ".join(f"{function}={value!r}" for function, value in sorted(self.values.items()))
        return f"{self.variable} differs between functions ({values})"


@dataclass(frozen=True)
class Environments:
    shared: dict[str, str]
    per_function: dict[str, dict[str, str | None]] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)

    @classmethod
    def of(cls, functions: Iterable[FunctionSpec]) -> Environments:
        specs = list(functions)
        names = sorted({name for spec in specs for name in spec.environment})
        shared: dict[str, str] = {}
        per_function: dict[str, dict[str, str | None]] = {spec.logical_id: {} for spec in specs}
        conflicts: list[Conflict] = []
        for name in names:
            declared = {spec.logical_id: spec.environment[name] for spec in specs if name in spec.environment}
            if len(set(declared.values())) == 1:
                shared[name] = next(iter(declared.values()))
                continue
            values: dict[str, str | None] = {spec.logical_id: declared.get(spec.logical_id) for spec in specs}
            conflicts.append(Conflict(name, values))
            for function, value in values.items():
                per_function[function][name] = value
        return cls(shared, per_function, conflicts)

    def overlay(self, function: str) -> dict[str, str | None]:
        return self.per_function.get(function, {})


def apply(variables: Mapping[str, str]) -> None:
    os.environ.update(variables)


@contextmanager
def applied(overlay: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) these variables for the duration of the block."""
    if not overlay:
        yield
        return
    saved = {name: os.environ.get(name) for name in overlay}
    _set(overlay)
    try:
        yield
    finally:
        _set(saved)


def _set(variables: Mapping[str, str | None]) -> None:
    for name, value in variables.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
