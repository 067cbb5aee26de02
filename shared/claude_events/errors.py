"""Client-facing problems: each becomes a 4xx with a JSON body that names it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class RequestError(Exception):
    """Base of every error the client caused; `status` is the HTTP answer."""

    message: str
    status: int = 400
    code: str = "bad_request"
    problems: list[FieldProblem] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.problems:
            body["details"] = [problem.as_dict() for problem in self.problems]
        body.update(self.extra)
        return body


def validation_error(problems: list[FieldProblem]) -> RequestError:
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return RequestError(
        message=f"{first.field}: {first.message}{more}",
        code="validation_error",
        problems=problems,
    )


def field_error(field_name: str, message: str) -> RequestError:
    return validation_error([FieldProblem(field_name, message)])


def payload_too_large(size: int, limit: int) -> RequestError:
    return RequestError(
        message=f"request body is {size} bytes; the limit is {limit}",
        status=413,
        code="payload_too_large",
        extra={"limit": limit},
    )
