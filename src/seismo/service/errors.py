"""HTTP errors with a JSON body that names the field; never a 500 for a client's mistake."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Problem:
    field: str  # JSON path in the request, e.g. "instances[3].age"
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": printable(self.field), "message": printable(self.message)}


@dataclass
class RequestError(Exception):
    """A request the client can fix: answered with ``status`` and a JSON error body."""

    status: int
    code: str
    message: str
    problems: list[Problem] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": printable(self.message)}
        if self.problems:
            error["problems"] = [p.to_dict() for p in self.problems[:MAX_PROBLEMS]]
            if len(self.problems) > MAX_PROBLEMS:
                error["more_problems"] = len(self.problems) - MAX_PROBLEMS
        return {"error": error}


MAX_PROBLEMS = 50


def printable(text: str) -> str:
    """``text`` as UTF-8 can hold it: a lone surrogate from a request (a JSON key, a value
    quoted in a message) is written as its escape, ``\\ud800``."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def invalid(problems: list[Problem], what: str = "request") -> RequestError:
    first = problems[0]
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    return RequestError(422, "invalid_" + what, f"{first.field}: {first.message}{more}", problems)
