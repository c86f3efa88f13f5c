"""Pure checks of a record against the policy (R-VLT-3): only what the statement declares gets in."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from kluis.kit.errors import Problem
from kluis.policy.schemas import Policy

# Clocks of calling services drift; beyond this a "collected at" in the future is an error.
CLOCK_SKEW = timedelta(minutes=5)

# (field below the record's path, code, message): the same declaration always gets the same answer.
Finding = tuple[str, str, str]


def check_subject_types(policy: Policy, subject_types: list[str], path: str) -> list[Problem]:
    known = policy.subject_ids
    return [Problem(f"{path}[{i}]", "subject_unknown",
                    f"unknown data subject {s!r} (one of: {_list(known)})")
            for i, s in enumerate(subject_types) if s not in known]


def check_declaration(policy: Policy, category: str, purposes: tuple[str, ...], legal_basis: str, source: str,
                      controller: str, has_employer: bool) -> tuple[Finding, ...]:
    """Is this category kept for these purposes, on this basis, from this source, for this controller?"""
    found: list[Finding] = []
    if category not in policy.category_ids:
        found.append(("category", "category_unknown",
                      f"unknown data category {category!r} (one of: {_list(policy.category_ids)})"))
    if source not in policy.source_ids:
        found.append(("source", "source_unknown", f"unknown source {source!r} (one of: {_list(policy.source_ids)})"))
    if len(set(purposes)) != len(purposes):
        found.append(("purposes", "purpose_repeated", "a purpose is named twice"))
    bases, processor_role = set(), False
    for i, purpose_id in enumerate(purposes):
        if purpose_id not in policy.purpose_ids:
            found.append((f"purposes[{i}]", "purpose_unknown",
                          f"unknown purpose {purpose_id!r} (one of: {_list(policy.purpose_ids)})"))
            continue
        purpose = policy.purpose(purpose_id)
        bases.add(str(purpose.basis))
        processor_role = processor_role or str(purpose.role) == "processor"
        if category in policy.category_ids and category not in purpose.categories:
            found.append((f"purposes[{i}]", "purpose_category_mismatch",
                          f"the policy does not use {category!r} data for purpose {purpose_id!r}"))
    if bases and legal_basis not in bases:
        found.append(("legal_basis", "basis_mismatch",
                      f"legal basis {legal_basis!r} is not the basis of these purposes ({_list(bases)})"))
    if processor_role and controller != "employer":
        found.append(("controller", "controller_must_be_employer",
                      "benVitaal processes this purpose for the employer: controller must be 'employer'"))
    if controller == "employer" and not has_employer:
        found.append(("controller_employer_id", "employer_required",
                      "data held for an employer needs that employer (the person has none)"))
    return tuple(found)


def check_times(collected_at: datetime | None, last_activity_at: datetime | None, now: datetime,
                path: str) -> list[Problem]:
    problems: list[Problem] = []
    for field, at in (("collected_at", collected_at), ("last_activity_at", last_activity_at)):
        if at is not None and at.tzinfo is None:
            problems.append(Problem(f"{path}.{field}", "timezone_required",
                                    "give a time zone (e.g. 2026-03-01T09:00:00+01:00)"))
        elif at is not None and at > now + CLOCK_SKEW:
            problems.append(Problem(f"{path}.{field}", "in_future", "lies in the future"))
    if (collected_at and last_activity_at and collected_at.tzinfo and last_activity_at.tzinfo
            and last_activity_at < collected_at):
        problems.append(Problem(f"{path}.last_activity_at", "before_collection",
                                "last activity cannot be before the data was collected"))
    return problems


def with_path(findings: tuple[Finding, ...], path: str) -> list[Problem]:
    return [Problem(f"{path}.{field}", code, message) for field, code, message in findings]


def _list(ids: Iterable[str]) -> str:
    return ", ".join(sorted(ids))
