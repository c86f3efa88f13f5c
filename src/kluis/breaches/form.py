"""The notification to the Autoriteit Persoonsgegevens, drafted from the register with the questions of its
"Meldformulier datalekken" (Dutch labels, as the AP asks them), as JSON and PDF; and the register as CSV
(Art. 33(5)). The texts are opened only here, to be handed to the DPO who files or exports them."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

from kluis.breaches import rules
from kluis.breaches.models import Breach
from kluis.breaches.service import Breaches, reference

if TYPE_CHECKING:
    from kluis.policy.schemas import Policy

RISK_NL = {"no_risk": "geen risico (alleen gedocumenteerd, art. 33 lid 5 AVG)",
           "risk": "risico: melding aan de AP (art. 33 AVG)",
           "high_risk": "hoog risico: melding aan de AP en aan de betrokkenen (art. 34 AVG)"}


def _contact(policy: Policy) -> dict[str, str]:
    controller, address = policy.controller, policy.controller.address
    return {"organisatie": controller.name.nl, "adres": f"{address.street}, {address.postcode} {address.city}",
            "telefoon": controller.phone, "contactpersoon": policy.dpo.title.nl, "e-mailadres": str(policy.dpo.email)}


def draft(breaches: Breaches, breach: Breach, *, follow_up: bool = False, late_reason: str = "") -> dict[str, Any]:
    """The form's sections, each with its Dutch label and the answer from the register."""
    policy = breaches.kluis.policy
    texts = breaches.texts(breach)
    count = breaches.count_affected(breach)
    categories = [policy.category(c) for c in breach.categories]
    fields: list[tuple[str, str, Any]] = [
        ("meldingstype", "Soort melding", "vervolgmelding" if follow_up else "nieuwe melding"),
        ("referentie", "Eigen referentie", reference(breach.id)),
        ("contactgegevens", "Contactgegevens", _contact(policy)),
        ("samenvatting", "Samenvatting van het incident", texts.get("summary", "")),
        ("aard_van_de_inbreuk", "Aard van de inbreuk", [rules.NATURE_NL[rules.Nature(n)] for n in breach.nature]),
        ("getroffen_systemen", "Getroffen systemen", texts.get("systems", "")),
        ("categorieen_persoonsgegevens", "Categorieën persoonsgegevens", [c.name.nl for c in categories]),
        ("bijzondere_persoonsgegevens", "Bijzondere persoonsgegevens", "ja" if any(c.special for c in categories)
         else "nee"),
        ("categorieen_betrokkenen", "Categorieën betrokkenen",
         [policy.subject(s).name.nl for s in breach.subject_types]),
        ("aantal_betrokkenen", "Aantal betrokkenen", {"minimaal": count, "maximaal": count}),
        ("tijdstip", "Tijdstip", {
            "begin_inbreuk": rules.amsterdam(breach.happened_from),
            "einde_inbreuk": rules.amsterdam(breach.happened_until) if breach.happened_until else "nog gaande",
            "ontdekt_op": rules.amsterdam(breach.aware_at),
            "uiterste_meldtermijn": rules.amsterdam(breach.deadline_at)}),
        ("gevolgen", "Mogelijke gevolgen voor de betrokkenen", texts.get("consequences", "")),
        ("maatregelen", "Genomen en voorgenomen maatregelen", texts.get("measures", "")),
        ("risicobeoordeling", "Risicobeoordeling", {"besluit": RISK_NL.get(breach.risk or "", "nog niet beoordeeld"),
                                                    "motivering": breaches.risk_reason(breach)}),
        ("informeren_betrokkenen", "Informeren betrokkenen", {
            "worden_geinformeerd": "ja" if rules.needs_people(breach.risk) else "nee",
            "stand": f"{breach.notified} gemaild, {breach.skipped} overgeslagen (gewist)"
            if breach.notify_state else "nog niet gestart"}),
        ("internationale_aspecten", "Internationale aspecten", {
            "betrokkenen_in_andere_eu_landen": "ja" if breach.cross_border else "nee"}),
        ("reden_vertraging", "Reden van de vertraging (melding na 72 uur)", late_reason),
    ]
    return {"formulier": "Meldformulier datalekken (Autoriteit Persoonsgegevens)",
            "velden": [{"veld": key, "label": label, "waarde": value} for key, label, value in fields]}


def as_json(form: dict[str, Any]) -> str:
    return json.dumps(form, ensure_ascii=False, indent=2)


def as_pdf(form: dict[str, Any]) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, title=form["formulier"])
    story: list[Any] = [Paragraph(escape(form["formulier"]), styles["Title"]), Spacer(1, 8)]
    for field in form["velden"]:
        story.append(Paragraph(escape(field["label"]), styles["Heading3"]))
        for line in _lines(field["waarde"]):
            story.append(Paragraph(escape(line) or "—", styles["Normal"]))
    document.build(story)
    return buffer.getvalue()


def _lines(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [f"{key.replace('_', ' ')}: {item}" for key, item in value.items()]
    if isinstance(value, list):
        return [f"• {item}" for item in value] or ["—"]
    return str(value).splitlines() or [""]


CSV_COLUMNS = ("reference", "id", "reported_at", "aware_at", "deadline_at", "happened_from", "happened_until",
               "nature", "categories", "subject_types", "employers", "summary", "systems", "consequences",
               "measures", "risk", "risk_reason", "decided_at", "affected", "ap_filed_at", "ap_references",
               "filed_late", "notified", "skipped")


def register_csv(breaches: Breaches) -> str:
    """Every incident, notified or not (Art. 33(5)): facts, effects, remedial action and the decisions."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    rows = breaches.register()
    for breach in rows:
        texts, filings = breaches.texts(breach), breaches.filings(breach.id)
        writer.writerow([
            reference(breach.id), breach.id, breach.reported_at.isoformat(), breach.aware_at.isoformat(),
            breach.deadline_at.isoformat(), breach.happened_from.isoformat(),
            breach.happened_until.isoformat() if breach.happened_until else "", ";".join(breach.nature),
            ";".join(breach.categories), ";".join(breach.subject_types), ";".join(breach.employer_ids),
            *(texts.get(name, "") for name in ("summary", "systems", "consequences", "measures")),
            breach.risk or "", breaches.risk_reason(breach),
            breach.decided_at.isoformat() if breach.decided_at else "",
            "" if breach.affected is None else breach.affected,
            breach.ap_filed_at.isoformat() if breach.ap_filed_at else "",
            ";".join(f.ap_reference for f in filings), "yes" if any(f.late for f in filings) else "no",
            breach.notified, breach.skipped])
    breaches.audit_export(rows)
    return buffer.getvalue()
