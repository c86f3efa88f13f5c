"""The certificate of erasure (R-DSR-6): canonical JSON signed with Ed25519, and a PDF of the same facts.

The JSON is the proof: ``{"certificate": {...}, "signature": {"alg": "Ed25519", "key_id": ..., "value": ...}}``
where the value signs the canonical form of ``certificate`` (sorted keys, no spaces, UTF-8). The PDF
is for people; it carries the SHA-256 of its JSON, and ``kluis erasure certificate verify`` checks both.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kluis.config import Settings
from kluis.erasure import kept, rules
from kluis.erasure.models import ErasureJob
from kluis.kit.errors import ConfigurationError, Invalid
from kluis.policy.render import fill
from kluis.policy.schemas import Policy

ALG = "Ed25519"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@functools.lru_cache(maxsize=4)
def private_key(secret: str | None) -> Ed25519PrivateKey:
    """The signing key from KLUIS_CERTIFICATE_KEY: 32 random bytes, URL-safe base64 (`kluis init` writes one).
    Kept per secret: a worker signs every certificate with the same key, and loading it is not free."""
    if not secret:
        raise ConfigurationError("KLUIS_CERTIFICATE_KEY is not configured: erasure certificates cannot be signed "
                                 "(`kluis init` writes one locally; `kluis access new-secret` prints one)",
                                 code="certificate_key_missing")
    try:
        raw = _unb64(secret.strip())
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ConfigurationError("KLUIS_CERTIFICATE_KEY must be 32 bytes in URL-safe base64",
                                 code="certificate_key_invalid")
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_text(key: Ed25519PublicKey) -> str:
    return _b64(key.public_bytes(Encoding.Raw, PublicFormat.Raw))


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]


def sign(document: dict[str, Any], key: Ed25519PrivateKey) -> str:
    key_name, public_key = _public_parts(key)
    signed = {"certificate": document,
              "signature": {"alg": ALG, "key_id": key_name, "public_key": public_key,
                            "value": _b64(key.sign(canonical(document)))}}
    return json.dumps(signed, sort_keys=True, indent=2, ensure_ascii=False)


@functools.lru_cache(maxsize=4)
def _public_parts(key: Ed25519PrivateKey) -> tuple[str, str]:
    """The key id and public key a signature names, worked out once per signing key."""
    public = key.public_key()
    return key_id(public), public_text(public)


class NotGenuine(Invalid):
    """The certificate was altered, signed by another key, or is not a certificate at all."""


def verify(text: str | bytes, trusted: Ed25519PublicKey | None = None) -> dict[str, Any]:
    """The certificate's facts if the signature holds (and, given a trusted key, it is that key's)."""
    try:
        signed = json.loads(text)
        document, signature = signed["certificate"], signed["signature"]
        if signature.get("alg") != ALG:
            raise NotGenuine(f"unknown signature algorithm {signature.get('alg')!r}", code="certificate_alg")
        embedded = Ed25519PublicKey.from_public_bytes(_unb64(signature["public_key"]))
        value = _unb64(signature["value"])
    except NotGenuine:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise NotGenuine("not a certificate of erasure", code="certificate_malformed") from exc
    key = trusted or embedded
    if trusted is not None and public_text(trusted) != signature["public_key"]:
        raise NotGenuine("signed with another key than the one trusted", code="certificate_wrong_key")
    try:
        key.verify(value, canonical(document))
    except InvalidSignature:
        raise NotGenuine("the signature does not match: the certificate was altered", code="certificate_altered") \
            from None
    return dict(document)


def verify_pdf(pdf: bytes, certificate_json: str | bytes) -> None:
    """The PDF names the SHA-256 of its certificate JSON; a PDF with another hash is not its rendering."""
    wanted = hashlib.sha256(certificate_json if isinstance(certificate_json, bytes)
                            else certificate_json.encode()).hexdigest()
    # The PDF is written without stream compression (see render_pdf), so the hash is in its bytes.
    if f"sha256:{wanted}".encode() not in pdf:
        raise NotGenuine("the PDF does not belong to this certificate", code="certificate_pdf_mismatch")


def render_pdf(certificate_json: str) -> bytes:
    """A readable page of the signed facts, with the JSON's hash so the two can be checked together."""
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

    facts = json.loads(certificate_json)["certificate"]
    signature = json.loads(certificate_json)["signature"]
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title="Certificate of erasure", author=facts["issuer"]["name"],
                            pageCompression=0)
    story: list[Any] = [Paragraph("Certificate of erasure / Verklaring van verwijdering", styles["Title"]),
                        Paragraph(escape(f"Certificate {facts['certificate_id']} · issued {facts['issued_at']} "
                                         f"by {facts['issuer']['name']}"), styles["Normal"]),
                        Paragraph(escape(f"Person (pseudonymous id): {facts['person_id']} · reason: "
                                         f"{facts['reason']}" + (f" · request {facts['request_id']}"
                                                                 if facts.get("request_id") else "")),
                                  styles["Normal"]), Spacer(1, 10),
                        Paragraph("Erased", styles["Heading2"])]
    erased = [[c["category"], str(c["records"])] for c in facts["erased"]["categories"]] or [["—", "0"]]
    story.append(Table([["Category", "Records"], *erased]))
    story.append(Paragraph(escape(
        f"Identifiers erased: {facts['erased']['identifiers']}; data key destroyed: "
        f"{'yes' if facts['erased']['data_key_destroyed'] else 'no (kept records only, under a new key)'}"),
        styles["Normal"]))
    story.append(Paragraph("Kept, and why", styles["Heading2"]))
    kept_rows = [[k["category"], str(k["records"]), Paragraph(escape(k["reason"]), styles["BodyText"]),
                  k["until"] or "term not started", ", ".join(k.get("restricted_to", []))]
                 for k in facts["kept"]] or [["—", "0", "", "", ""]]
    story.append(Table([["Category", "Records", "Ground", "Until", "Restricted to"], *kept_rows],
                       colWidths=[70, 45, 220, 80, 90]))
    if facts["kept"]:
        story.append(Paragraph("What is kept is restricted: it serves only the purposes named, and is erased when "
                               "its term ends.", styles["Normal"]))
    story.append(Paragraph("Service databases", styles["Heading2"]))
    datasets = [[d["dataset"], d["table"], d["strategy"], str(d["rows"])] for d in facts["datasets"]] or [
        ["—", "", "", "0"]]
    story.append(Table([["Dataset", "Table", "Strategy", "Rows"], *datasets]))
    story.append(Paragraph("Recipients told", styles["Heading2"]))
    for recipient in facts["recipients_told"] or [{"id": "—", "name": "none"}]:
        story.append(Paragraph(escape(f"{recipient['id']}: {recipient['name']}"), styles["Normal"]))
    story += [Spacer(1, 12), Paragraph("Signature", styles["Heading2"]),
              Paragraph(escape(f"{signature['alg']} key {signature['key_id']}"), styles["Normal"]),
              Paragraph(escape(f"sha256:{hashlib.sha256(certificate_json.encode()).hexdigest()}"), styles["Code"])]
    doc.build(story)
    return buffer.getvalue()


def write_files(certificate_json: str, directory: Path, stem: str) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path, pdf_path = directory / f"{stem}.json", directory / f"{stem}.pdf"
    json_path.write_text(certificate_json, encoding="utf-8")
    pdf_path.write_bytes(render_pdf(certificate_json))
    return json_path, pdf_path


def configured_key() -> Ed25519PrivateKey:
    configured = Settings().certificate_key
    return private_key(configured.get_secret_value() if configured else None)


def trusted_key(text: str | None) -> Ed25519PublicKey | None:
    """The key to trust: the one given, else this Kluis's own (if configured), else none (the
    certificate's embedded key is then checked for integrity only, and the output says whose key it is)."""
    if text:
        try:
            return Ed25519PublicKey.from_public_bytes(_unb64(text.strip()))
        except ValueError as exc:
            raise Invalid("the public key must be 32 bytes in base64url", code="public_key_invalid") from exc
    try:
        return configured_key().public_key()
    except ConfigurationError:
        return None


def erased_counts(result: dict[str, Any]) -> dict[str, int]:
    """Records erased per category: the vault step's, with benVitaal's own part erased before it, if any (R-DSR-8)."""
    counts: dict[str, int] = {}
    for part in (result.get("controller", {}), result.get("vault", {})):
        for category, records in part.get("erased", {}).items():
            counts[category] = counts.get(category, 0) + records
    return counts


def document(job: ErasureJob, policy: Policy, policy_version: int | None, now: datetime) -> dict[str, Any]:
    """What the certificate states, from what the job recorded: no personal data, ids and counts only."""
    vault = job.result.get("vault", {})
    erased = erased_counts(job.result)
    retention = {r.id: r for r in policy.retention if r.keep_on_erasure}
    rule_reasons = {r.id: (fill(policy, r.reason.en, "en") if r.reason else r.id) for r in policy.retention}
    rule_reasons[rules.HOLD_RULE] = "A legal hold covers this category: kept until the hold ends."
    told = []
    for entry in job.result.get("controller", {}).get("told", []) + job.result.get("told", []):
        party = policy.party(entry["party"])
        name = party.name if isinstance(party.name, str) else party.name.en
        told.append({"id": party.id, "kind": entry["party"].split(":", 1)[0], "name": name,
                     "channel": entry["channel"]})
    datasets = [t for tables in job.result.get("datasets", {}).values() for t in tables]
    return {
        "certificate_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"kluis:erasure:{job.id}")),
        "job_id": str(job.id), "person_id": str(job.person_id),
        "request_id": str(job.request_id) if job.request_id else None, "reason": job.reason,
        "issued_at": now.isoformat(), "erased_at": vault.get("at"),
        "issuer": {"name": policy.controller.name.en, "dpo": str(policy.dpo.email)},
        "policy_version": policy_version,
        "erased": {"categories": [{"category": c, "records": n} for c, n in sorted(erased.items())],
                   "identifiers": vault.get("identifiers", 0),
                   "interest_profile": bool(vault.get("interest_profile")),
                   "data_key_destroyed": True, "already_erased": bool(vault.get("already_erased"))},
        # R-RET-3: on which ground each kept category stays, and the only purposes it may still serve.
        "kept": [{**k, "reason": rule_reasons.get(k["rule"], k["rule"]),
                  "ground": "legal_hold" if k["rule"] == rules.HOLD_RULE or k["rule"] not in retention
                  else "legal_obligation",
                  "restricted_to": kept.obliged_purposes(policy, retention[k["rule"]]) if k["rule"] in retention
                  else [rules.HOLD_RULE]}
                 for k in vault.get("kept", [])],
        "datasets": datasets,
        "recipients_told": told,
        "suppression_kept": True,
    }
