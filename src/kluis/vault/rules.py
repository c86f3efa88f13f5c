"""Pure checks of a record against the policy (R-VLT-3): only what the statement declares gets in."""

from __future__ import annotations

from datetime import datetime, timedelta

from kluis.kit.errors import Problem
from kluis.policy.schemas import Policy

# Clocks of calling services drift; beyond this a "collected at" in the future is an error.
CLOCK_SKEW = timedelta(minutes=5)


def check_subject_types(policy: Policy, subject_types: list[str], path: str) -> list[Problem]:
    known = policy.subject_ids
    return [Problem(f"{path}[{i}]", "subject_unknown",
                    f"unknown data subject {s!r} (one of: {', '.join(sorted(known))})")
            for i, s in enumerate(subject_types) if s not in known]


def check_record(policy: Policy, *, category: str, purposes: list[str], legal_basis: str, source: str,
                 controller: str, has_employer: bool, collected_at: datetime | None,
                 last_activity_at: datetime | None, now: datetime, path: str) -> list[Problem]:
    problems: list[Problem] = []
    if category not in policy.category_ids:
        problems.append(Problem(f"{path}.category", "category_unknown",
                                f"unknown data category {category!r} (one of: {_list(policy.category_ids)})"))
    if source not in policy.source_ids:
        problems.append(Problem(f"{path}.source", "source_unknown",
                                f"unknown source {source!r} (one of: {_list(policy.source_ids)})"))
    if len(set(purposes)) != len(purposes):
        problems.append(Problem(f"{path}.purposes", "purpose_repeated", "a purpose is named twice"))
    bases, processor_role = set(), False
    for i, purpose_id in enumerate(purposes):
        if purpose_id not in policy.purpose_ids:
            problems.append(Problem(f"{path}.purposes[{i}]", "purpose_unknown",
                                    f"unknown purpose {purpose_id!r} (one of: {_list(policy.purpose_ids)})"))
            continue
        purpose = policy.purpose(purpose_id)
        bases.add(str(purpose.basis))
        processor_role = processor_role or str(purpose.role) == "processor"
        if category in policy.category_ids and category not in purpose.categories:
            problems.append(Problem(f"{path}.purposes[{i}]", "purpose_category_mismatch",
                                    f"the policy does not use {category!r} data for purpose {purpose_id!r}"))
    if bases and legal_basis not in bases:
        problems.append(Problem(f"{path}.legal_basis", "basis_mismatch",
                                f"legal basis {legal_basis!r} is not the basis of these purposes "
                                f"({', '.join(sorted(bases))})"))
    if processor_role and controller != "employer":
        problems.append(Problem(f"{path}.controller", "controller_must_be_employer",
                                "benVitaal processes this purpose for the employer: controller must be 'employer'"))
    if controller == "employer" and not has_employer:
        problems.append(Problem(f"{path}.controller_employer_id", "employer_required",
                                "data held for an employer needs that employer (the person has none)"))
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


def _list(ids: set[str] | list[str]) -> str:
    return ", ".join(sorted(ids))
