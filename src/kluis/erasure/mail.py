"""Art. 19 for erasure: recipients and processors that received the erased categories are told.
The message holds ids only; the builder reads the job at send time."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from kluis.erasure.models import ErasureJob
from kluis.kit.clock import AMSTERDAM, as_utc
from kluis.kit.errors import Problem
from kluis.mail import service as mail
from kluis.mail.models import Outbox

if TYPE_CHECKING:
    from kluis.policy.schemas import Lang
    from kluis.wiring import Kluis

RECIPIENT_TEMPLATE = "erasure_recipient_notice"


def check(context: Mapping[str, Any]) -> list[Problem]:
    try:
        uuid.UUID(str(context.get("job_id")))
    except ValueError:
        return [Problem("context.job_id", "id_required", "the erasure job's id")]
    return []


def build(session: Session, kluis: Kluis, row: Outbox) -> mail.MessageContext:
    job = session.get(ErasureJob, uuid.UUID(str(row.context["job_id"])))
    if job is None:
        raise mail.Cancelled("job_gone")
    lang: Lang = "en" if row.lang == "en" else "nl"
    vault = job.result.get("vault", {})
    categories = [kluis.policy.category(c).name.get(lang) for c in vault.get("erased", {})
                  if c in kluis.policy.category_ids]
    erased_at = as_utc(datetime.fromisoformat(vault["at"])) if vault.get("at") else as_utc(job.updated_at)
    return mail.MessageContext(values={
        "person_id": str(job.person_id), "categories": categories, "dpo": str(kluis.policy.dpo.email),
        "on": erased_at.astimezone(AMSTERDAM).strftime("%d-%m-%Y")})


mail.register_template(RECIPIENT_TEMPLATE, build, "administrative", check=check)
