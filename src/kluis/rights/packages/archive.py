"""The access package (R-DSR-3) and the portability export (R-DSR-4), streamed as a ZIP into the caller's stream.

A package is personal data: it is written only to ``out``, never to a temporary file. Records are read
in batches (``yield_per``) and decrypted one batch at a time, so memory stays flat however many records
a person has. Each category is read twice: once for its JSON file (which also learns the CSV columns),
once for its CSV file; uploaded files follow, one small batch at a time.
"""

from __future__ import annotations

import csv
import io
import json
import mimetypes
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import case, func, null, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from kluis.audit import service as audit
from kluis.datasets.service import DatasetRows, Identity
from kluis.disclosures.service import Disclosures
from kluis.kit import events
from kluis.kit.clock import AMSTERDAM, as_utc
from kluis.kit.errors import Invalid, NotFound
from kluis.policy.schemas import LANGS, Lang, version_label
from kluis.retention import service as retention
from kluis.rights.events import COMPLAINTS, PackageBuilding
from kluis.rights.packages.report import ReportFacts, render_report_html, render_report_pdf, report_view
from kluis.vault.crypto import open_sealed
from kluis.vault.models import Record

if TYPE_CHECKING:
    from kluis.wiring import Kluis

BATCH = 500
FILE_BATCH = 8
# Up to this many records, a person's records are read in one query and kept for both the JSON and CSV pass.
READ_ONCE = 500
PORTABLE_BASES = ("consent", "contract")
RECORD_COLUMNS = ("record_id", "category", "purposes", "legal_basis", "source", "controller", "collected_at",
                  "last_activity_at")


@dataclass(frozen=True)
class PackageSummary:
    """What went into a package: records per category, the number of files in the ZIP, the policy version."""

    counts: dict[str, int]
    files: int
    policy_version: str
    portability: bool


def write_access_package(kluis: Kluis, session: Session, person_id: uuid.UUID, lang: Lang, out: BinaryIO, *,
                         portability: bool = False, actor: str = "system", report: bool = True,
                         controller_only: bool = False) -> PackageSummary:
    """Write the person's access package (or, with ``portability``, their portable data) as a ZIP to ``out``.

    The logged disclosures of the person's data to recipients and processors (``kluis.disclosures``) appear
    in the report and in ``disclosures.json``. ``report=False`` leaves out the readable report (HTML and PDF):
    the data files alone (benchmarks time the report's rendering apart). ``controller_only`` leaves out the
    records benVitaal holds for an employer (R-DSR-8): the employer, as controller, answers for those first.
    """
    if lang not in LANGS:
        raise Invalid(f"unknown language '{lang}'; use one of {', '.join(LANGS)}", code="language_invalid")
    vault = kluis.vault(session, actor)
    vault.person(person_id)
    dek = kluis.keystore.data_keys(session, [person_id]).get(person_id)
    if dek is None:
        raise NotFound("this person's data was erased", code="person_erased")
    version = version_label(kluis.policy.content_hash, kluis.policy_version)
    made_at = kluis.clock.now()
    identifiers = [] if portability else vault.identifiers_of(person_id)
    values = {i.id: vault.identifier_value(i) for i in identifiers}
    # Read before anything is written: a dataset that is down stops the package here (the request waits).
    external = _dataset_rows(kluis, [(i.kind, i.scope or None, values[i.id]) for i in identifiers])
    dataset_counts = _dataset_counts(external)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        writer = _PackageWriter(zf, session, person_id, dek, portability, controller_only)
        facts = writer.write_records()
        manifest: dict[str, Any] = {"kind": "portability" if portability else "access", "person_id": str(person_id),
                                    "made_at": made_at.isoformat(), "language": lang, "policy_version": version,
                                    "counts": facts.counts}
        if controller_only:
            manifest["held_for_employer"] = "forwarded"  # those records are the employer's to answer for
        if not portability:
            manifest["datasets"] = dataset_counts
            for rows in external:
                writer.write_dataset(rows)
            gate = kluis.gate(session, actor)
            objections = [_row(o, ("id", "scope", "on_behalf_of", "reference", "at", "lifted_at"))
                          for o in gate.objections_of(person_id)]
            restrictions = [_row(r, ("id", "reason", "on_behalf_of", "reference", "at", "lifted_at"))
                            for r in gate.restrictions_of(person_id)]
            relations = [_row(r, ("id", "kind", "employer_id", "starts_at", "ends_at"))
                         for r in gate.relations_of(person_id)]
            consents = kluis.consents(session, actor).history(person_id)
            writer.put_json("identifiers.json", [{"kind": i.kind, "scope": i.scope, "value": values[i.id],
                                                  "created_at": i.created_at.isoformat()} for i in identifiers])
            writer.put_json("consents.json", consents)
            writer.put_json("gate.json", {"objections": objections, "restrictions": restrictions,
                                          "relations": relations})
            disclosures = Disclosures(session, kluis.policy, kluis.clock, actor).for_package(person_id, made_at)
            writer.put_json("disclosures.json", disclosures)
            complaints = events.publish(session, PackageBuilding(kluis, actor, person_id)).get(COMPLAINTS, [])
            writer.put_json("complaints.json", complaints)
            holds = [_row(h, ("id", "scope", "category", "reason", "reference", "created_at", "until"))
                     for h in retention.held(session, kluis.clock, person_id)]
            writer.put_json("legal_holds.json", holds)
            erasure_dates = writer.erasure_dates()
            writer.put_json("erasure_dates.json", erasure_dates)
            view = None if not report else report_view(kluis.policy, lang, ReportFacts(
                counts=facts.counts, purposes=facts.purposes, sources=facts.sources,
                category_purposes=facts.category_purposes, consents=consents,
                objections=objections, restrictions=restrictions, disclosures=disclosures, holds=holds,
                erasure_dates=erasure_dates,
                complaints=complaints,
                made_at=made_at, policy_version=version, datasets=[
                    {"dataset": r.dataset_id, "table": r.table, "categories": sorted(set(r.columns.values())),
                     "rows": len(r.rows)} for r in external]))
            if view is not None:
                writer.put_bytes("report.html", render_report_html(view).encode())
                with writer.open("report.pdf") as pdf:
                    render_report_pdf(view, pdf)
        writer.put_json("manifest.json", manifest)
    audit.append(session, kluis.clock, actor=actor, action="rights.package_made", object_type="person",
                 object_ids=[person_id], details={"portability": portability, "counts": facts.counts,
                                                  "files": writer.files, "policy_version": version}
                 | ({"datasets": dataset_counts} if dataset_counts else {}))
    return PackageSummary(counts=facts.counts, files=writer.files, policy_version=version, portability=portability)


def _dataset_rows(kluis: Kluis, identities: Sequence[Identity]) -> list[DatasetRows]:
    """The person's rows in every declared dataset (R-DSR-9); raises ``DatasetUnavailable`` when one is down."""
    if not identities:
        return []
    datasets = kluis.datasets()
    return [rows for dataset_id in datasets.ids() for rows in datasets.read(dataset_id, identities)]


def _dataset_counts(found: Sequence[DatasetRows]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for rows in found:
        counts.setdefault(rows.dataset_id, {})[rows.table] = len(rows.rows)
    return counts


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Nested content as dotted CSV columns: ``{"address": {"city": "Utrecht"}}`` -> ``{"address.city": ...}``.
    Lists stay one cell, as JSON, so a long list doesn't add a column per item."""
    if isinstance(value, dict):
        flat: dict[str, str] = {}
        for key, item in value.items():
            flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(value, list):
        return {prefix: json.dumps(value, ensure_ascii=False)}
    if value is None:
        return {prefix: ""}
    if isinstance(value, bool):
        return {prefix: "true" if value else "false"}
    return {prefix: str(value)}


def _row(item: Any, names: Sequence[str]) -> dict[str, Any]:
    return {n: _plain(getattr(item, n)) for n in names}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


class _PackageWriter:
    def __init__(self, zf: zipfile.ZipFile, session: Session, person_id: uuid.UUID, dek: bytes,
                 portability: bool, controller_only: bool = False) -> None:
        self.zf, self.session, self.person_id, self.dek, self.portability = zf, session, person_id, dek, portability
        self.controller_only = controller_only
        self.files = 0

    def open(self, name: str) -> IO[bytes]:
        self.files += 1
        # Entries are streamed without knowing their size up front: allow ZIP64 in case one is huge.
        return self.zf.open(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), "w", force_zip64=True)

    def put_bytes(self, name: str, data: bytes) -> None:
        with self.open(name) as entry:
            entry.write(data)

    def put_json(self, name: str, value: Any) -> None:
        self.put_bytes(name, json.dumps(value, ensure_ascii=False, indent=2, default=_plain).encode())

    def write_dataset(self, found: DatasetRows) -> None:
        """``datasets/<dataset>/<table>.json`` (rows, with the category of each column) and the same rows as CSV."""
        base = f"datasets/{found.dataset_id}/{found.table}"
        self.put_json(f"{base}.json", {"dataset": found.dataset_id, "table": found.table,
                                       "columns": [{"column": c, "category": k} for c, k in found.columns.items()],
                                       "rows": found.rows})
        with self.open(f"{base}.csv") as entry, io.TextIOWrapper(entry, encoding="utf-8", newline="") as text:
            writer = csv.DictWriter(text, fieldnames=list(found.columns))
            writer.writeheader()
            for row in found.rows:
                writer.writerow(flatten(row))

    def _query(self, *columns: Any) -> Select[Any]:
        query = select(*columns).where(Record.person_id == self.person_id)
        if self.portability:
            query = query.where(Record.source == "direct", Record.legal_basis.in_(PORTABLE_BASES))
        if self.controller_only:
            query = query.where(Record.controller != "employer")
        return query

    def erasure_dates(self) -> list[dict[str, Any]]:
        """R-DSR-3: per category and retention rule, the first and the last Amsterdam calendar day on which the
        person's records are due to be erased, and how many cannot be dated yet: one grouped query."""
        rows = self.session.execute(self._query(Record.category, Record.rule_id, func.min(Record.due_at),
                                                func.max(Record.due_at), func.count(), func.count(Record.due_at))
                                    .group_by(Record.category, Record.rule_id)).all()
        return sorted(({"category": category, "rule": rule, "first": _day(first), "last": _day(last),
                        "undated": count - dated} for category, rule, first, last, count, dated in rows),
                      key=lambda d: (d["category"], d["rule"] or ""))

    def _batches(self, query: Select[Any], size: int) -> Iterator[Sequence[Any]]:
        result = self.session.execute(query.execution_options(yield_per=size))
        try:
            yield from result.partitions()
        finally:
            result.close()

    def write_records(self) -> ReportFacts:
        # A person with few records is read once, in one query; a large one category by category, twice
        # (JSON, then CSV with the columns the JSON pass found), so memory stays flat whatever the size.
        counts: dict[str, int] = {}
        with_files: set[str] = set()
        read_once: dict[str, list[dict[str, Any]]] | None = None
        first = list(self._entries(None, limit=READ_ONCE + 1))
        if len(first) <= READ_ONCE:
            read_once = {}
            for entry in first:
                read_once.setdefault(entry["category"], []).append(entry)
                counts[entry["category"]] = counts.get(entry["category"], 0) + 1
                if "file" in entry:
                    with_files.add(entry["category"])
        else:
            first.clear()
            kinds = self.session.execute(self._query(Record.category, Record.content_kind, func.count())
                                         .group_by(Record.category, Record.content_kind)).all()
            for category, kind, count in kinds:
                counts[category] = counts.get(category, 0) + count
                if kind == "file":
                    with_files.add(category)
        facts = ReportFacts(counts=dict(sorted(counts.items())))
        for category in facts.counts:
            entries = ((lambda c=category: iter(read_once[c])) if read_once is not None
                       else (lambda c=category: self._entries(c)))
            columns = self._write_json(category, facts, entries)
            facts.purposes |= facts.category_purposes[category]
            self._write_csv(category, columns, entries)
            if category in with_files:
                self._write_files(category)
        return facts

    def _record_query(self, category: str | None) -> Select[Any]:
        # File contents are left out here (they can be large); _write_files streams them separately.
        sealed = case((Record.content_kind == "json", Record.ciphertext), else_=null()).label("sealed")
        query = self._query(Record.id, Record.category, Record.purposes, Record.legal_basis, Record.source,
                            Record.controller, Record.collected_at, Record.last_activity_at, Record.content_kind,
                            Record.media_type, sealed)
        if category is not None:
            query = query.where(Record.category == category)
        return query.order_by(Record.collected_at, Record.id)

    def _entries(self, only: str | None, limit: int | None = None) -> Iterator[dict[str, Any]]:
        query = self._record_query(only)
        # A bounded read is fetched at once (one round trip); an unbounded one streams in batches.
        pages = [self.session.execute(query.limit(limit)).all()] if limit is not None else self._batches(query, BATCH)
        for batch in pages:
            for row in batch:
                category = row.category
                entry: dict[str, Any] = {
                    "record_id": str(row.id), "category": row.category, "purposes": list(row.purposes),
                    "legal_basis": row.legal_basis, "source": row.source, "controller": row.controller,
                    "collected_at": row.collected_at.isoformat(), "last_activity_at": row.last_activity_at.isoformat(),
                }
                if row.content_kind == "file":
                    entry["file"] = {"media_type": row.media_type, "path": _file_path(category, row.id, row.media_type)}
                else:
                    entry["content"] = json.loads(open_sealed(self.dek, self.person_id, row.id, category, row.sealed))
                yield entry

    def _write_json(self, category: str, facts: ReportFacts, entries: Callable[[], Iterator[dict[str, Any]]]
                    ) -> list[str]:
        """Write ``data/<category>.json`` as a JSON array, one record at a time; return the CSV's columns."""
        columns: dict[str, None] = {}
        sources = facts.sources.setdefault(category, set())
        purposes = facts.category_purposes.setdefault(category, set())
        with self.open(f"data/{category}.json") as entry:
            entry.write(b"[")
            for n, record in enumerate(entries()):
                entry.write(((",\n" if n else "\n") + json.dumps(record, ensure_ascii=False)).encode())
                purposes.update(record["purposes"])
                sources.add(record["source"])
                for key in flatten({k: v for k, v in record.items() if k in ("content", "file")}):
                    columns.setdefault(key)
            entry.write(b"\n]\n")
        return [*RECORD_COLUMNS, *sorted(columns)]

    def _write_csv(self, category: str, columns: list[str], entries: Callable[[], Iterator[dict[str, Any]]]) -> None:
        with self.open(f"data/{category}.csv") as entry, io.TextIOWrapper(entry, encoding="utf-8",
                                                                          newline="") as text:
            writer = csv.DictWriter(text, fieldnames=columns, restval="")
            writer.writeheader()
            for record in entries():
                flat = flatten({k: v for k, v in record.items() if k in ("content", "file")})
                writer.writerow({k: record[k] for k in RECORD_COLUMNS} | flat
                                | {"purposes": ";".join(record["purposes"])})

    def _write_files(self, category: str) -> None:
        query = (self._query(Record.id, Record.media_type, Record.ciphertext)
                 .where(Record.category == category, Record.content_kind == "file").order_by(Record.id))
        for batch in self._batches(query, FILE_BATCH):
            for row in batch:
                self.put_bytes(_file_path(category, row.id, row.media_type),
                               open_sealed(self.dek, self.person_id, row.id, category, row.ciphertext))


def _day(at: datetime | None) -> str | None:
    """A due instant (00:00 in Amsterdam on the due day) as that calendar day."""
    return as_utc(at).astimezone(AMSTERDAM).date().isoformat() if at is not None else None


def _file_path(category: str, record_id: uuid.UUID, media_type: str | None) -> str:
    extension = mimetypes.guess_extension(media_type or "") or ".bin"
    return f"files/{category}/{record_id}{extension}"
