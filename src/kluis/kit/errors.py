"""Typed domain errors with a stable code, an HTTP status and a message a person can act on.

One handler (``kluis.app``) turns them into ``application/problem+json``; the CLI prints them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where (a path like ``items[3].content.note``) and why."""

    path: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message}


@dataclass
class DomainError(Exception):
    message: str
    code: str = "error"
    problems: list[Problem] = field(default_factory=list)
    status: int = 400

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        lines = [self.message] + [f"  {p.path}: {p.message}" for p in self.problems]
        return "\n".join(lines)


@dataclass
class Invalid(DomainError):
    code: str = "invalid"
    status: int = 422


@dataclass
class NotFound(DomainError):
    code: str = "not_found"
    status: int = 404


@dataclass
class NotAllowed(DomainError):
    code: str = "not_allowed"
    status: int = 403


@dataclass
class Unauthenticated(DomainError):
    code: str = "unauthenticated"
    status: int = 401


@dataclass
class Conflict(DomainError):
    code: str = "conflict"
    status: int = 409


@dataclass
class ConfigurationError(DomainError):
    code: str = "configuration"
    status: int = 500
