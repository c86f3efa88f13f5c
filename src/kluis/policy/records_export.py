"""The records of processing (R-GOV-5) as CSV, JSON and PDF.

CSV: one file with a ``register`` column (``art30_1`` or ``art30_2``) so that one download opens in a
spreadsheet with both registers; the header row carries the labels in the language asked for, and a cell
of a field that belongs only to the other register stays empty. JSON: the registers keyed by id, rows keyed
by the stable column ids. PDF: per register the fields every row shares (controller, DPO, security
measures) once, then a landscape table of the rest; the policy version on the first page.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Literal
from xml.sax.saxutils import escape

from kluis.policy.records import COLUMNS, CONTROLLER_REGISTER, FIELDS, PROCESSOR_REGISTER, Records, label

Format = Literal["csv", "json", "pdf"]
FORMATS: tuple[Format, ...] = ("csv", "json", "pdf")
MEDIA_TYPES: dict[Format, str] = {"csv": "text/csv; charset=utf-8", "json": "application/json",
                                  "pdf": "application/pdf"}
# Fields whose value is the same on every row of a register (they come from the policy, not the purpose).
SHARED = frozenset({"controller", "processor", "dpo", "security_measures"})
# The long texts get twice the width of a column, so that the table stays readable in landscape.
WIDE = frozenset({"data_categories", "recipients", "sub_processors", "transfers", "retention"})


def export(records: Records, fmt: Format) -> bytes:
    if fmt == "csv":
        return as_csv(records).encode("utf-8-sig")  # the BOM makes spreadsheets read UTF-8
    if fmt == "json":
        return as_json(records).encode("utf-8")
    return as_pdf(records)


def as_csv(records: Records) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([label(c, records.lang) for c in COLUMNS])
    for rows in records.registers().values():
        writer.writerows([_cell(row[c]) for c in COLUMNS] for row in rows)
    return out.getvalue()


def _cell(value: str) -> str:
    # Employer names come from outside: a leading = + - @ would make a spreadsheet run the cell as a formula.
    return f"'{value}" if value[:1] in ("=", "+", "-", "@") else value


def as_json(records: Records) -> str:
    body: dict[str, Any] = {
        "title": label("title", records.lang), "version": records.version, "lang": records.lang,
        "registers": {register: {"title": label(register, records.lang),
                                 "fields": list(FIELDS[register]),
                                 "rows": [{c: row[c] for c in FIELDS[register]} for row in rows]}
                      for register, rows in records.registers().items()},
    }
    return json.dumps(body, ensure_ascii=False, indent=2)


def as_pdf(records: Records) -> bytes:
    # Imported here: reportlab is slow to import and only the PDF needs it.
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import LongTable, PageBreak, Paragraph, SimpleDocTemplate, Spacer, TableStyle

    styles = getSampleStyleSheet()
    cell = styles["BodyText"].clone("cell", fontSize=6, leading=7.5)
    head = cell.clone("head", fontName="Helvetica-Bold")
    lang = records.lang
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=8 * mm, rightMargin=8 * mm,
                            topMargin=10 * mm, bottomMargin=10 * mm, title=label("title", lang))
    story: list[Any] = [Paragraph(escape(label("title", lang)), styles["Title"]),
                        Paragraph(escape(f"{label('version', lang)}: {records.version}"), styles["Normal"])]
    for index, register in enumerate((CONTROLLER_REGISTER, PROCESSOR_REGISTER)):
        rows = records.registers()[register]
        if index:
            story.append(PageBreak())
        story += [Spacer(1, 4 * mm), Paragraph(escape(label(register, lang)), styles["Heading2"])]
        # The same on every row: said once above the table, which then has room for what differs per purpose.
        shared = [c for c in FIELDS[register] if c in SHARED]
        story += [Paragraph(f"<b>{escape(label(c, lang))}:</b> {escape(rows[0][c])}", styles["Normal"])
                  for c in shared if rows]
        columns = [c for c in FIELDS[register] if c not in SHARED and c not in ("register", "purpose_id")]
        data = [[Paragraph(escape(label(c, lang)), head) for c in columns]]
        data += [[Paragraph(escape(row[c]), cell) for c in columns] for row in rows]
        weights = [2 if c in WIDE else 1 for c in columns]
        table = LongTable(data, colWidths=[doc.width * w / sum(weights) for w in weights], repeatRows=1)
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, "#888888"), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                                   ("BACKGROUND", (0, 0), (-1, 0), "#e8e8e8")]))
        story += [Spacer(1, 3 * mm), table]
    doc.build(story)
    return buffer.getvalue()
