"""Read the policy file and refuse it, with every problem at once, when it is not consistent (R-POL-2).

Three layers of problems, all reported as ``file:line: path: reason``: YAML syntax (with the
parser's line), the schema (pydantic, with paths made of ids) and the rules (``kluis.policy.rules``).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, get_args

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from kluis.kit.errors import ConfigurationError, Problem
from kluis.policy import rules
from kluis.policy.rules import PolicyInvalid, PolicyProblem, item_key
from kluis.policy.schemas import Policy, did_you_mean


def load_policy(path: str | Path) -> Policy:
    """The validated policy; raises ``PolicyInvalid`` carrying every problem found."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        _refuse(str(path), [PolicyProblem("", "unreadable", f"cannot read the file: {reason}",
                                                     file=str(path))])
    return parse_policy(text, file=str(path))


def stored_policy(content: str, content_hash: str) -> Policy:
    """A stored version's policy from its canonical JSON (checked when it was registered: only its shape is
    read again). Refused when the text is not the content its hash names."""
    policy = Policy.model_validate(json.loads(content))
    if policy.content_hash != content_hash:
        raise ConfigurationError(f"a stored policy version is not the content of its hash "
                                 f"sha256:{content_hash[:12]}: the policy_version table was changed by hand",
                                 code="policy_version_corrupt")
    return policy


def check_policy(path: str | Path) -> list[Problem]:
    """Every problem in the policy file; empty when it loads."""
    try:
        load_policy(path)
    except PolicyInvalid as exc:
        return exc.problems
    return []


@lru_cache(maxsize=16)
def parse_policy(text: str, file: str = "<policy>") -> Policy:
    """Validate policy YAML given as text; ``file`` is only used in messages. The same text gives the same
    policy (frozen), parsed once per process: every CLI command, server process and test loads the file again."""
    data, lines = _parse_yaml(text, file)
    if not isinstance(data, dict):
        _refuse(file, [PolicyProblem("", "not_a_mapping", "the policy must be a mapping of sections "
                                           "(meta, controller, purposes, ...)", file=file, line=1)])
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        problems = [_schema_problem(err, data, file, lines) for err in exc.errors()]
        _refuse(file, problems)
    problems = [_locate(p, file, lines) for p in rules.check(policy)]
    if problems:
        _refuse(file, problems)
    return policy


def _refuse(file: str, problems: list[PolicyProblem]) -> NoReturn:
    ordered = sorted(problems, key=lambda p: p.line if p.line is not None else 1 << 30)
    count = f"{len(ordered)} problem" + ("" if len(ordered) == 1 else "s")
    raise PolicyInvalid(f"the policy in {file} is refused ({count})", problems=list(ordered))


# The C parser when PyYAML was built with libyaml: the same results, several times faster.
if TYPE_CHECKING:  # both have the constructor methods the strict loader uses
    _SafeLoader = yaml.SafeLoader
else:
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeLoader):
    """Safe YAML that refuses a key given twice in one mapping (PyYAML would silently keep the last)."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' appears twice in this mapping (first on line {seen[key]})",
                    key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def _parse_yaml(text: str, file: str) -> tuple[Any, dict[str, int]]:
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = " ".join(part for part in (exc.context, exc.problem) if part)
        _refuse(file, [PolicyProblem("", "yaml_syntax", f"YAML syntax error: {reason}", file=file,
                                           line=line)])
    except yaml.YAMLError as exc:
        _refuse(file, [PolicyProblem("", "yaml_syntax", f"YAML syntax error: {exc}", file=file)])
    finally:
        loader.dispose()
    return data, _line_index(node) if node is not None else {}


def _line_index(root: Node) -> dict[str, int]:
    """Line of every path, both by list index (``purposes.3``) and by id (``purposes.orders``)."""
    lines: dict[str, int] = {}

    def walk(node: Node, path: str) -> None:
        if isinstance(node, MappingNode):
            for key, value in node.value:
                child = f"{path}.{key.value}" if path else str(key.value)
                lines.setdefault(child, key.start_mark.line + 1)
                walk(value, child)
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                for key in {str(index), _node_id(item) or str(index)}:
                    lines.setdefault(f"{path}.{key}", item.start_mark.line + 1)
                    walk(item, f"{path}.{key}")

    walk(root, "")
    return lines


def _node_id(node: Node) -> str | None:
    """The item's ``id``, else its plain-text ``name`` (as ``rules.item_key`` names it in paths)."""
    if isinstance(node, MappingNode):
        scalars = {key.value: value.value for key, value in node.value if isinstance(value, ScalarNode)}
        for key in ("id", "name"):
            if key in scalars:
                return str(scalars[key])
    return None


def _locate(problem: Problem, file: str, lines: dict[str, int]) -> PolicyProblem:
    parts = problem.path.split(".")
    line = None
    while parts and line is None:
        line = lines.get(".".join(parts))
        parts.pop()
    return PolicyProblem(problem.path, problem.code, problem.message, file=file, line=line)


def _schema_problem(err: ErrorDetails, data: Any, file: str, lines: dict[str, int]) -> PolicyProblem:
    loc = tuple(err["loc"])
    problem = Problem(_id_path(loc, data), f"schema_{err['type']}", _schema_reason(err, loc))
    return _locate(problem, file, lines)


def _id_path(loc: tuple[int | str, ...], data: Any) -> str:
    """``('purposes', 3, 'basis')`` -> ``purposes.orders.basis``: list items are named by their id."""
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
            parts.append(item_key(node) or str(part))
        elif isinstance(node, dict) and part in node:
            node = node[part]
            parts.append(str(part))
        else:
            node = None
            parts.append(str(part))
    return ".".join(parts)


def _schema_reason(err: ErrorDetails, loc: tuple[int | str, ...]) -> str:
    kind, value = err["type"], err.get("input")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = list(model.model_fields) if model is not None else []
        return f"unknown field '{loc[-1]}'{did_you_mean(str(loc[-1]), allowed)}"
    if kind in ("enum", "literal_error"):
        expected = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
        return f"'{value}' is not one of {', '.join(expected)}{did_you_mean(str(value), expected)}"
    if kind == "string_type" and isinstance(value, bool):
        return "YAML reads yes/no/on/off as true/false: put the value in quotes"
    return str(err["msg"])


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Policy
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        model = _model_in(field.annotation) if field is not None else None
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
