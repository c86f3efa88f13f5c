"""The readable report inside an access package (R-DSR-3): every Art. 15 fact, in the person's language.

``report_view`` turns the policy and the facts gathered while the package was written into sections of
plain strings; the HTML template and the PDF both lay out those same sections, so they cannot differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import IO, Any
from xml.sax.saxutils import escape as xml_escape
from zoneinfo import ZoneInfo

from babel.lists import format_list
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from kluis.disclosures.service import ORDER_PURPOSE
from kluis.kit import i18n
from kluis.policy.render import LOCALES, fill, statement_view
from kluis.policy.schemas import Lang, Policy, RetentionRule, Text

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

# The report's own words; what benVitaal promises comes from the policy file.


@cache
def words(lang: str) -> dict[str, str]:
    """The report's own words in ``lang`` (context "report" in the catalogs)."""
    pgettext = i18n.pgettext
    with i18n.speaking(lang):
        return {
            "title": pgettext("report", "Your personal data at {controller}"),
            "intro": pgettext("report", "This overview comes with your access request (Art. 15 GDPR). The files in "
                                        "the data/ folder hold all your data; this document explains what we do with "
                                        "it."),
            "made_at": pgettext("report", "Made on"),
            "policy_version": pgettext("report", "Version of the privacy statement"),
            "categories": pgettext("report", "What data we hold about you"),
            "category": pgettext("report", "Kind of data"),
            "count": pgettext("report", "Number"),
            "sources": pgettext("report", "Source"),
            "no_records": pgettext("report", "We hold no data of these kinds about you."),
            "your_purposes": pgettext("report", "What we use your data for"),
            "purpose": pgettext("report", "Purpose"),
            "basis": pgettext("report", "Legal basis"),
            "role": pgettext("report", "Role of {controller}"),
            "all_purposes": pgettext("report", "All purposes in our privacy statement"),
            "recipients": pgettext("report", "Who we may share data with"),
            "recipient": pgettext("report", "Recipient"),
            "description": pgettext("report", "Explanation"),
            "processors": pgettext("report", "Processors working on our behalf"),
            "service": pgettext("report", "Service"),
            "country": pgettext("report", "Country"),
            "disclosures": pgettext("report", "Logged disclosures of your data"),
            "no_disclosures": pgettext("report", "No disclosures of your data to others have been logged."),
            "when": pgettext("report", "When"),
            "by_order": pgettext("report", "Under the authority's order (a court order or similar order)"),
            "complaints": pgettext("report", "Your complaints (complaints.json)"),
            "no_complaints": pgettext("report", "You have not filed a complaint with us."),
            "complaint_columns": pgettext("report", "Reference|Received|Status|Answered"),
            "complaint_open": pgettext("report", "being handled"),
            "complaint_answered": pgettext("report", "answered"),
            "retention": pgettext("report", "How long we keep your data"),
            "term": pgettext("report", "Retention period"),
            "hold": pgettext("report", "We keep (some of) your data longer because of a legal obligation (legal hold)"),
            "erase_when": pgettext("report", "When we erase it"),
            "erase_on": pgettext("report", "On {day}."),
            "erase_between": pgettext("report", "Between {first} and {last} (each item on its own date)."),
            "erase_undated": pgettext("report", "{n} cannot be dated yet: the term is {term}, which has not happened "
                                                "yet."),
            "erase_no_rule": pgettext("report", "{n} cannot be dated yet: no retention rule applies (yet); ask our "
                                                "data protection officer."),
            "erase_held": pgettext("report", "A legal hold keeps it for now, {until}; after that we erase it as the "
                                             "term above says."),
            "hold_open": pgettext("report", "with no end date"),
            "hold_since": pgettext("report", "since {at}"),
            "hold_until": pgettext("report", "until {at}"),
            "hold_litigation": pgettext("report", "legal proceedings"),
            "hold_tax_audit": pgettext("report", "a tax audit"),
            "hold_authority_order": pgettext("report", "an order of an authority"),
            "hold_investigation": pgettext("report", "an investigation"),
            "hold_other": pgettext("report", "another legal reason"),
            "where_from": pgettext("report", "Where your data comes from"),
            "consents": pgettext("report", "Your consents"),
            "action": pgettext("report", "What"),
            "method": pgettext("report", "How"),
            "given": pgettext("report", "given"),
            "withdrawn": pgettext("report", "withdrawn"),
            "no_consents": pgettext("report", "You have not given or withdrawn consent."),
            "objections": pgettext("report", "Your objections and restrictions"),
            "objection": pgettext("report", "Objection to"),
            "restriction": pgettext("report", "Restriction"),
            "lifted": pgettext("report", "lifted on {at}"),
            "active": pgettext("report", "in force"),
            "no_objections": pgettext("report", "You have not objected and no restriction applies."),
            "rights": pgettext("report", "Your rights and how to use them"),
            "dpo": pgettext("report", "Contact"),
            "address": pgettext("report", "Address"),
            "website": pgettext("report", "Website"),
            "phone": pgettext("report", "Telephone"),
            "email": pgettext("report", "E-mail"),
            "datasets": pgettext("report", "Data in our service systems"),
            "datasets_intro": pgettext("report", "We also searched the databases of our services; what we found is in "
                                                 "the datasets/ folder."),
            "no_datasets": pgettext("report", "We did not find you there."),
            "system": pgettext("report", "System"),
            "table": pgettext("report", "Table"),
            "none": pgettext("report", "none"),
            "every_purpose": pgettext("report", "every purpose"),
        }


@dataclass
class ReportFacts:
    """What the report says about this person, gathered while the package was written."""

    counts: dict[str, int]
    purposes: set[str] = field(default_factory=set)
    sources: dict[str, set[str]] = field(default_factory=dict)
    # category -> the purposes on the person's records of that category; picks the retention rules shown.
    category_purposes: dict[str, set[str]] = field(default_factory=dict)
    consents: Sequence[Mapping[str, Any]] = ()
    objections: Sequence[Mapping[str, Any]] = ()
    restrictions: Sequence[Mapping[str, Any]] = ()
    disclosures: Sequence[Mapping[str, Any]] = ()
    complaints: Sequence[Mapping[str, Any]] = ()  # kluis.complaints.service.Complaints.for_package
    # Legal holds that cover the person's data (kluis.retention.service.held).
    holds: Sequence[Mapping[str, Any]] = ()
    # Per category and rule: first and last due day (ISO, Amsterdam) and how many are undated (erasure_dates.json).
    erasure_dates: Sequence[Mapping[str, Any]] = ()
    made_at: datetime | None = None
    policy_version: str = ""
    # One entry per searched dataset table: dataset, table, categories of its columns, rows found (R-DSR-9).
    datasets: Sequence[Mapping[str, Any]] = ()


def report_view(policy: Policy, lang: Lang, facts: ReportFacts) -> dict[str, Any]:
    """The report as a title, a few header lines and sections of paragraphs and tables, in ``lang``."""
    return _Report(policy, lang, facts).view()


def render_report_html(view: Mapping[str, Any]) -> str:
    return _env.get_template("rights/package_report.html").render(r=view)


def render_report_pdf(view: Mapping[str, Any], out: IO[bytes]) -> None:
    """The same sections as the HTML, as an A4 PDF written to ``out`` (built in memory, never on disk)."""
    styles = getSampleStyleSheet()
    body, cell = styles["BodyText"], styles["BodyText"].clone("cell", fontSize=8, leading=10)

    def para(text: str, style: Any = body) -> Paragraph:
        return Paragraph(xml_escape(text).replace("\n", "<br/>"), style)

    story: list[Any] = [para(view["title"], styles["Title"])]
    story += [para(line) for line in view["header"]]
    for section in view["sections"]:
        story.append(para(section["heading"], styles["Heading2"]))
        story += [para(text) for text in section["paragraphs"]]
        if section["table"]:
            table = section["table"]
            rows = [[para(c, cell) for c in table["header"]]] + [[para(c, cell) for c in row] for row in table["rows"]]
            grid = Table(rows, repeatRows=1, hAlign="LEFT", colWidths=[17 * cm / len(table["header"])] * len(
                table["header"]))
            grid.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                                      ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                                      ("VALIGN", (0, 0), (-1, -1), "TOP")]))
            story += [grid, Spacer(1, 6)]
        story += [para(text) for text in section["after"]]
    # invariant: no wall-clock time in the file; the date that counts is in the text, from Kluis's clock.
    doc = SimpleDocTemplate(out, pagesize=A4, title=view["title"], author=view["controller"], invariant=1,
                            lang=view["lang"], leftMargin=2 * cm, rightMargin=2 * cm)
    doc.build(story)


_env = Environment(loader=PackageLoader("kluis", "templates"), autoescape=select_autoescape(("html",)),
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


class _Report:
    def __init__(self, policy: Policy, lang: Lang, facts: ReportFacts) -> None:
        self.policy, self.lang, self.facts = policy, lang, facts
        self.statement = statement_view(policy, lang, facts.policy_version)

    def w(self, key: str, **values: str) -> str:
        text = words(self.lang)[key]
        return text.format(controller=self.policy.controller.short_name, **values)

    def t(self, text: Text) -> str:
        return fill(self.policy, text.get(self.lang), self.lang)

    def join(self, items: Sequence[str]) -> str:
        return format_list(list(items), locale=LOCALES[self.lang]) if items else self.w("none")

    def when(self, at: datetime | str | None) -> str:
        if at is None:
            return ""
        moment = datetime.fromisoformat(at) if isinstance(at, str) else at
        return i18n.long_when(moment, self.lang)

    def view(self) -> dict[str, Any]:
        made = self.when(self.facts.made_at)
        return {
            "lang": self.lang, "title": self.w("title"), "controller": self.policy.controller.short_name,
            "header": [self.w("intro"), f"{self.w('made_at')}: {made}",
                       f"{self.w('policy_version')}: {self.facts.policy_version}"],
            "sections": [self._categories(), self._your_purposes(), self._all_purposes(), self._recipients(),
                         self._datasets(), self._disclosures(), self._complaints(), self._retention(),
                         self._sources(), self._consents(), self._objections(), self._rights(), self._complaint(),
                         self._dpo()],
        }

    def _section(self, heading: str, paragraphs: Sequence[str] = (), header: Sequence[str] = (),
                 rows: Sequence[Sequence[str]] = (), after: Sequence[str] = ()) -> dict[str, Any]:
        table = {"header": list(header), "rows": [list(r) for r in rows]} if rows else None
        return {"heading": heading, "paragraphs": list(paragraphs), "table": table, "after": list(after)}

    def _held(self) -> list[str]:
        return [c for c in self.policy.category_ids if self.facts.counts.get(c)]

    def _categories(self) -> dict[str, Any]:
        sources = {s.id: self.t(s.name) for s in self.policy.sources}
        rows = [(self.t(self.policy.category(c).name), str(self.facts.counts[c]),
                 self.join([sources.get(s, s) for s in sorted(self.facts.sources.get(c, ()))])) for c in self._held()]
        return self._section(self.w("categories"), [] if rows else [self.w("no_records")],
                             (self.w("category"), self.w("count"), self.w("sources")), rows)

    def _purpose_row(self, purpose_id: str) -> tuple[str, str, str, str]:
        purpose = self.policy.purpose(purpose_id)
        bases = {b.id: self.t(b.name) for b in self.policy.legal_bases}
        roles = {r.id: self.t(r.name) for r in self.policy.roles}
        return (self.t(purpose.name), self.t(purpose.description),
                bases.get(purpose.basis, "") if purpose.basis else "",
                roles.get(purpose.role, "") if purpose.role else "")

    def _purpose_header(self) -> tuple[str, str, str, str]:
        return self.w("purpose"), self.w("description"), self.w("basis"), self.w("role")

    def _your_purposes(self) -> dict[str, Any]:
        rows = [self._purpose_row(p) for p in self.policy.purpose_ids if p in self.facts.purposes]
        return self._section(self.w("your_purposes"), [] if rows else [self.w("no_records")],
                             self._purpose_header(), rows)

    def _all_purposes(self) -> dict[str, Any]:
        return self._section(self.w("all_purposes"), [self.statement["purposes_intro"]], self._purpose_header(),
                             [self._purpose_row(p) for p in self.policy.purpose_ids],
                             [self.statement["processor_role_note"]])

    def _recipients(self) -> dict[str, Any]:
        rows = [(self.t(r.name), self.t(r.description)) for r in self.policy.recipients]
        processors = [f"{p.name}: {self.t(p.service)} ({p.country})" for p in self.policy.processors]
        intro = [self.statement["sharing_within"], self.statement["sharing_outside"]]
        return self._section(self.w("recipients"), intro,
                             (self.w("recipient"), self.w("description")), rows,
                             [f"{self.w('processors')}: {self.join(processors)}"])

    def _datasets(self) -> dict[str, Any]:
        datasets = {d.id: self.t(d.name) for d in self.policy.datasets}
        categories = {c.id: self.t(c.name) for c in self.policy.categories}
        rows = [(datasets.get(str(d["dataset"]), str(d["dataset"])), str(d["table"]),
                 self.join([categories.get(c, c) for c in d["categories"]]), str(d["rows"]))
                for d in self.facts.datasets]
        intro = [self.w("datasets_intro")] + ([] if any(d["rows"] for d in self.facts.datasets)
                                              else [self.w("no_datasets")])
        return self._section(self.w("datasets"), intro,
                             (self.w("system"), self.w("table"), self.w("category"), self.w("count")), rows)

    def _disclosures(self) -> dict[str, Any]:
        names = {f"recipient:{r.id}": self.t(r.name) for r in self.policy.recipients}
        names |= {f"processor:{p.id}": f"{p.name} ({self.t(p.service)})" for p in self.policy.processors}
        purposes = {p.id: self.t(p.name) for p in self.policy.purposes} | {ORDER_PURPOSE: self.w("by_order")}
        categories = {c.id: self.t(c.name) for c in self.policy.categories}
        rows = [(names.get(str(d.get("recipient", "")), str(d.get("recipient", "")).removeprefix("authority:")),
                 self.when(d.get("at")),
                 self.join([categories.get(c, c) for c in d.get("categories", ())]),
                 purposes.get(str(d.get("purpose", "")), str(d.get("purpose", ""))))
                for d in self.facts.disclosures]
        return self._section(self.w("disclosures"), [] if rows else [self.w("no_disclosures")],
                             (self.w("recipient"), self.w("when"), self.w("category"), self.w("description")), rows)

    def _complaints(self) -> dict[str, Any]:
        """What the person complained about and was answered is in complaints.json; here, when and how it stands."""
        rows = [(str(c["reference"]), self.when(c["received_at"]), self.w(f"complaint_{c['state']}"),
                 self.when(c.get("answered_at"))) for c in self.facts.complaints if c["state"] in ("open", "answered")]
        return self._section(self.w("complaints"), [] if rows else [self.w("no_complaints")],
                             self.w("complaint_columns").split("|"), rows)

    def _rule_text(self, rule: RetentionRule, wording: Mapping[str, str]) -> str:
        purposes = self.join([self.t(self.policy.purpose(p).name) for p in rule.purposes]) if rule.purposes \
            else self.w("every_purpose")
        extra = [wording[k] for k in ("with_consent", "kept_on_erasure") if wording[k]]
        return "; ".join([f"{wording['name']} ({purposes}): {wording['term']}", *extra])

    def _retention(self) -> dict[str, Any]:
        wording = dict(zip((r.id for r in self.policy.retention), self.statement["retention"], strict=True))
        rows = []
        for category in self._held():
            rules = self.policy.retention_rules_for(category)
            held_for = self.facts.category_purposes.get(category)
            if held_for is not None:
                rules = [r for r in rules if not r.purposes or held_for & set(r.purposes)]
            texts = [self._rule_text(r, wording[r.id]) for r in rules] or [self.statement["retention_contact"]]
            rows.append((self.t(self.policy.category(category).name), "\n".join(texts),
                         "\n".join(self._erased_when(category, wording))))
        holds = [self._hold(h) for h in self.facts.holds]
        return self._section(self.w("retention"), [self.statement["retention_intro"]],
                             (self.w("category"), self.w("term"), self.w("erase_when")), rows,
                             [*holds, self.statement["retention_contact"]])

    def _erased_when(self, category: str, wording: Mapping[str, Mapping[str, str]]) -> list[str]:
        """R-DSR-3: the day (or first and last day) Kluis erases the category's records, from their due dates;
        per rule, how many cannot be dated yet and why; and a legal hold that keeps them for now."""
        entries = [e for e in self.facts.erasure_dates if e["category"] == category]
        firsts = sorted(e["first"] for e in entries if e["first"])
        lasts = sorted(e["last"] for e in entries if e["last"])
        lines = []
        if firsts:
            first, last = self.day(firsts[0]), self.day(lasts[-1])
            lines.append(self.w("erase_on", day=last) if first == last else
                         self.w("erase_between", first=first, last=last))
        for entry in entries:
            if not entry["undated"]:
                continue
            term = wording.get(str(entry["rule"]), {}).get("term")
            lines.append(self.w("erase_undated", n=str(entry["undated"]), term=term) if term
                         else self.w("erase_no_rule", n=str(entry["undated"])))
        held = [h for h in self.facts.holds if h["scope"] != "category" or h.get("category") == category]
        for hold in held:
            until = self.w("hold_until", at=self.day(hold["until"])) if hold.get("until") else self.w("hold_open")
            lines.append(self.w("erase_held", until=until))
        return lines

    def day(self, at: date | datetime | str) -> str:
        """A calendar day in Amsterdam, as people write it (1 januari 2033 / 1 January 2033)."""
        moment = datetime.fromisoformat(at) if isinstance(at, str) else at
        if isinstance(moment, datetime):
            moment = moment.astimezone(AMSTERDAM).date() if moment.tzinfo else moment.date()
        return i18n.long_day(moment, self.lang)

    def _hold(self, hold: Mapping[str, Any]) -> str:
        line = (f"{self.w('hold')}: {self.w('hold_' + str(hold['reason']))}, "
                f"{self.w('hold_since', at=self.when(hold['created_at']))}")
        return line + (f", {self.w('hold_until', at=self.when(hold['until']))}" if hold.get("until") else "")

    def _sources(self) -> dict[str, Any]:
        used = set().union(*self.facts.sources.values()) if self.facts.sources else set()
        rows = [(self.t(s.name), self.t(s.description)) for s in self.policy.sources if s.id in used]
        return self._section(self.w("where_from"), [] if rows else [self.w("no_records")],
                             (self.w("sources"), self.w("description")), rows)

    def _purpose_name(self, purpose_id: str) -> str:
        return self.t(self.policy.purpose(purpose_id).name) if purpose_id in self.policy.purpose_ids else purpose_id

    def _consents(self) -> dict[str, Any]:
        rows = [(self._purpose_name(str(c["purpose"])),
                 self.w("given") if c["action"] == "given" else self.w("withdrawn"),
                 self.when(c["at"]), str(c.get("method") or "")) for c in self.facts.consents]
        return self._section(self.w("consents"), [] if rows else [self.w("no_consents")],
                             (self.w("purpose"), self.w("action"), self.w("when"), self.w("method")), rows)

    def _state(self, item: Mapping[str, Any]) -> str:
        return self.w("lifted", at=self.when(item["lifted_at"])) if item.get("lifted_at") else self.w("active")

    def _objections(self) -> dict[str, Any]:
        rows = [(f"{self.w('objection')}: {self._purpose_name(str(o['scope']))}", self.when(o["at"]), self._state(o))
                for o in self.facts.objections]
        rows += [(f"{self.w('restriction')}: {r['reason']}", self.when(r["at"]), self._state(r))
                 for r in self.facts.restrictions]
        return self._section(self.w("objections"), [] if rows else [self.w("no_objections")],
                             (self.w("action"), self.w("when"), self.w("description")), rows)

    def _rights(self) -> dict[str, Any]:
        rows = [(f"{r['name']} ({r['article']})", r["description"]) for r in self.statement["rights"]]
        opt_out = self.statement["opt_out"]
        after = [self.statement["rights_requests"], f"{opt_out['name']}: {opt_out['description']}"]
        after += [f"{r['letter']}. {r['text']}" if r["letter"] else r["text"] for r in opt_out["routes"]]
        return self._section(self.w("rights"), [], (self.w("rights"), self.w("description")), rows, after)

    def _complaint(self) -> dict[str, Any]:
        complaint = self.statement["complaint"]
        return self._section(complaint["name"], [complaint["description"]], after=[
            complaint["authority"], f"{self.w('website')}: {complaint['website']}",
            f"{self.w('address')}: {complaint['address']}", f"{self.w('phone')}: {complaint['phone']}"])

    def _dpo(self) -> dict[str, Any]:
        dpo, controller = self.statement["dpo"], self.statement["controller"]
        return self._section(self.w("dpo"), [dpo["role"]], after=[
            f"{dpo['title']}: {dpo['email']}", f"{controller['name']}, {controller['address']}",
            f"{self.w('phone')}: {controller['phone']}", f"{self.w('website')}: {controller['website']}"])

