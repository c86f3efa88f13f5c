"""R-POL-2: loading refuses an inconsistent policy with a precise message (file, path, why).

Each test mutates a copy of the shipped policy (``lab``), writes it to tmp_path and loads it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kluis.policy.loader import check_policy, load_policy


def test_r_pol_2_purpose_without_basis_refused(lab) -> None:
    del lab.item("purposes", "orders")["basis"]
    problem = lab.problem("purposes.orders.basis")
    assert problem.code == "missing_basis"
    assert "no legal basis" in problem.reason
    assert problem.file == str(lab.path)
    assert str(problem).startswith(f"{lab.path}:{problem.line}: purposes.orders.basis: purpose has no legal basis")


def test_r_pol_2_consent_purpose_without_withdrawal_refused(lab) -> None:
    lab.item("purposes", "marketing_email")["withdrawal"] = []
    problem = lab.problem("purposes.marketing_email.withdrawal")
    assert problem.code == "consent_without_withdrawal"
    assert problem.file == str(lab.path)
    assert lab.path.read_text(encoding="utf-8").splitlines()[problem.line - 1].strip().startswith("withdrawal:")
    assert "needs at least one withdrawal route" in problem.reason


def test_r_pol_2_category_without_retention_rule_refused(lab) -> None:
    lab.data["retention"] = [r for r in lab.data["retention"] if r["id"] != "web_traffic"]
    problem = lab.problem("categories.web_traffic")
    assert problem.code == "no_retention_rule"
    assert "no retention rule covers category 'web_traffic'" in problem.reason
    assert lab.problem("purposes.security.categories").code == "no_retention_rule"


def test_r_pol_2_processor_outside_eea_without_safeguard_refused(lab) -> None:
    lab.item("processors", "webinar_platform")["transfer"] = "eea"
    lab.item("processors", "recruitment_system")["country"] = "IN"
    lab.item("processors", "email_delivery")["sub_processors"][0]["transfer"] = None
    outside = lab.problem("processors.webinar_platform.transfer")
    assert outside.code == "transfer_without_safeguard"
    assert "'US' is outside the EEA" in outside.reason
    assert "no EU adequacy decision covers 'IN'" in lab.problem("processors.recruitment_system.transfer").reason
    assert lab.problem("processors.email_delivery.sub_processors.0.transfer").line is not None


def test_r_pol_2_processor_without_agreement_refused(lab) -> None:
    del lab.item("processors", "hosting")["agreement"]
    assert lab.problem("processors.hosting.agreement").code == "missing_agreement"


def test_r_pol_2_special_category_refused(lab) -> None:
    lab.item("categories", "content")["special"] = True
    assert lab.problem("categories.content.special").code == "special_category"
    uses = lab.problem("purposes.community.categories")
    assert uses.code == "special_category"
    assert "marked special" in uses.reason


def test_r_pol_2_purpose_naming_a_special_category_refused(lab) -> None:
    lab.item("purposes", "support")["categories"].append("health")
    problem = lab.problem("purposes.support.categories")
    assert problem.code == "special_category"
    assert "'health' is health data, a special category of personal data (GDPR Art. 9)" in problem.reason


def test_r_pol_2_unknown_references_did_you_mean(lab) -> None:
    purpose = lab.item("purposes", "orders")
    purpose["categories"], purpose["sources"], purpose["subjects"] = ["basik"], ["employr"], ["employe"]
    rule = lab.item("retention", "accounts")
    rule["purposes"].append("acounts")
    rule["categories"].append("contnet")
    problems = {p.path: p.reason for p in lab.refused()}
    assert "unknown category 'basik' (did you mean 'basic'?)" in problems["purposes.orders.categories"]
    assert "(did you mean 'employer'?)" in problems["purposes.orders.sources"]
    assert "(did you mean 'employee'?)" in problems["purposes.orders.subjects"]
    assert "unknown purpose 'acounts' (did you mean 'accounts'?)" in problems["retention.accounts.purposes"]
    assert "(did you mean 'content'?)" in problems["retention.accounts.categories"]


def test_r_pol_2_unknown_reference_without_close_match_lists_known(lab) -> None:
    lab.item("purposes", "orders")["group"] = "zzz"
    reason = lab.problem("purposes.orders.group").reason
    assert "(known: marketing, purchase_delivery, recruitment, security, support_improvement)" in reason


def test_r_pol_2_duplicate_ids_refused(lab) -> None:
    lab.data["purposes"].append(dict(lab.item("purposes", "webinars")))
    problem = lab.problem("purposes.webinars")
    assert problem.code == "duplicate_id"
    assert "used 2 times" in problem.reason


def test_r_pol_2_duplicate_yaml_key_refused(lab, shipped_path: Path) -> None:
    phone = '  phone: "+31 43 306 80 66"\n'
    text = shipped_path.read_text(encoding="utf-8").replace(phone, phone + '  phone: "x"\n', 1)
    (problem,) = lab.refused(text)
    assert problem.code == "yaml_syntax"
    assert "key 'phone' appears twice" in problem.reason
    expected_line = text.splitlines().index('  phone: "x"') + 1
    assert problem.line == expected_line
    assert str(problem).startswith(f"{lab.path}:{expected_line}: ")


def test_r_pol_2_yaml_syntax_error_reported_with_line(lab) -> None:
    (problem,) = lab.refused("meta:\n  title: {nl: a, en: b}\ncontroller:\n  name: [unclosed\n  phone: x\n")
    assert problem.code == "yaml_syntax"
    assert problem.line in (4, 5, 6)
    assert str(problem).startswith(f"{lab.path}:{problem.line}: ")
    assert "YAML syntax error" in problem.reason


def test_r_pol_2_not_a_mapping_refused(lab) -> None:
    (problem,) = lab.refused("- just\n- a list\n")
    assert problem.code == "not_a_mapping"


def test_r_pol_2_missing_file_refused(tmp_path: Path) -> None:
    (problem,) = check_policy(tmp_path / "nope.yaml")
    assert problem.code == "unreadable"
    assert "nope.yaml" in str(problem)


def test_r_pol_2_schema_errors_use_id_paths_lines_and_suggestions(lab) -> None:
    lab.item("purposes", "profiling")["basis"] = "legitimate_intrest"
    marketing = lab.item("purposes", "marketing_email")
    marketing["withdrawl"] = marketing.pop("withdrawal")
    del lab.item("categories", "basic")["special"]
    problems = {p.path: p for p in lab.refused()}
    assert "(did you mean 'legitimate_interest'?)" in problems["purposes.profiling.basis"].reason
    typo = problems["purposes.marketing_email.withdrawl"]
    assert "unknown field 'withdrawl' (did you mean 'withdrawal'?)" in typo.reason
    assert lab.path.read_text(encoding="utf-8").splitlines()[typo.line - 1].strip().startswith("withdrawl:")
    assert problems["categories.basic.special"].reason == "is required"


def test_r_pol_2_yaml_boolean_trap_explained(lab) -> None:
    text = yaml.safe_dump(lab.data, allow_unicode=True, sort_keys=False).replace(
        "short_name: benVitaal", "short_name: no", 1)
    problems = {p.path: p for p in lab.refused(text)}
    assert "put the value in quotes" in problems["controller.short_name"].reason


def test_r_pol_2_mail_sent_is_not_an_activity(lab) -> None:
    lab.item("retention", "marketing_contacts")["activities"].append("mail_opened")
    assert lab.problem("retention.marketing_contacts.activities").code == "not_person_activity"


def test_r_pol_2_authority_only_with_order(lab) -> None:
    lab.item("recipients", "authorities")["requires_order"] = False
    assert "court order" in lab.problem("recipients.authorities.requires_order").reason


def test_r_pol_2_unknown_placeholder_refused(lab) -> None:
    lab.data["texts"]["feedback"]["en"] = "Write to {dpo_mail}."
    reason = lab.problem("texts.feedback.en").reason
    assert "unknown placeholder '{dpo_mail}' (did you mean 'dpo_email'?)" in reason


def test_r_pol_2_required_right_cannot_be_dropped(lab) -> None:
    lab.data["rights"] = [r for r in lab.data["rights"] if r["id"] != "objection"]
    assert lab.problem("rights.objection").code == "missing_right"


def test_r_pol_2_every_problem_reported_at_once_in_line_order(lab) -> None:
    del lab.item("purposes", "orders")["basis"]
    lab.item("purposes", "marketing_email")["withdrawal"] = []
    lab.item("processors", "webinar_platform")["transfer"] = "eea"
    problems = check_policy(lab.write())
    assert {p.path for p in problems} >= {"purposes.orders.basis", "purposes.marketing_email.withdrawal",
                                          "processors.webinar_platform.transfer"}
    lines = [p.line for p in problems]  # type: ignore[attr-defined]
    assert lines == sorted(lines)


def test_r_pol_2_content_hash_stable_across_formatting(lab, shipped_policy) -> None:
    reformatted = yaml.safe_dump(lab.data, allow_unicode=False, sort_keys=True, default_flow_style=True,
                                 width=60)
    assert reformatted != lab.write().read_text(encoding="utf-8")
    assert load_policy(lab.write(reformatted)).content_hash == shipped_policy.content_hash
    lab.item("retention", "web_traffic")["term"] = {"months": 7}
    changed = load_policy(lab.write())
    assert changed.content_hash != shipped_policy.content_hash
    assert len(changed.content_hash) == 64


@pytest.mark.parametrize("name", [{"nl": "Verzuim", "en": "Absence"}, {"nl": "Verzuimregistratie", "en": "Records"},
                                  {"nl": "Gegevens", "en": "Union membership"}, {"nl": "Geloof", "en": "Data"}])
def test_r_pol_2_category_special_by_its_name_refused_citing_the_law(lab, name) -> None:
    """A category that is special by what it is called is refused though it is labelled special: false."""
    lab.item("categories", "content")["name"] = name
    problem = next(p for p in lab.refused() if p.path.startswith("categories.content.name"))
    assert problem.code == "special_category"
    assert "GDPR Art. 9" in problem.reason
    assert "special: false" not in problem.reason and "remove it from the policy" in problem.reason


@pytest.mark.parametrize("field_id", ["sick_leave", "health_status", "religion", "trade_union", "absence_days"])
def test_r_pol_2_field_special_by_its_id_refused(lab, field_id) -> None:
    lab.item("categories", "basic")["fields"].append({"id": field_id, "name": {"nl": "veld", "en": "field"}})
    problem = lab.problem(f"categories.basic.fields.{field_id}.id")
    assert problem.code == "special_category" and "GDPR Art. 9" in problem.reason


def test_r_pol_2_category_special_by_its_description_refused(lab) -> None:
    lab.item("categories", "content")["description"] = {"nl": "Foto's en opmerkingen", "en": "Notes on sick leave"}
    problem = lab.problem("categories.content.description.en")
    assert problem.code == "special_category" and "health data" in problem.reason


def test_r_pol_2_criminal_records_cite_article_10(lab) -> None:
    lab.item("categories", "basic")["fields"].append({"id": "criminal_record", "name": {"nl": "x", "en": "x"}})
    assert "GDPR Art. 10" in lab.problem("categories.basic.fields.criminal_record.id").reason


@pytest.mark.parametrize("field", [{"id": "bsn", "name": {"nl": "BSN", "en": "BSN"}},
                                   {"id": "citizen_number", "name": {"nl": "burgerservicenummer", "en": "citizen"}},
                                   {"id": "national_id", "name": {"nl": "nummer", "en": "number"}},
                                   {"id": "ssn", "name": {"nl": "sofinummer", "en": "social security number"}}])
def test_r_pol_2_field_for_a_national_identifier_refused_citing_uavg_46(lab, field) -> None:
    lab.item("categories", "basic")["fields"].append(field)
    problem = next(p for p in lab.refused() if p.path.startswith(f"categories.basic.fields.{field['id']}"))
    assert problem.code == "national_identifier"
    assert "UAVG art. 46" in problem.reason and "remove it from the policy" in problem.reason


def test_r_pol_2_dataset_column_for_a_bsn_or_health_refused(lab) -> None:
    dataset = lab.data["datasets"][0]
    table = dataset["tables"][0]
    table["columns"]["bsn_nummer"] = "basic"
    table["columns"]["ziekteverzuim"] = "basic"
    at = f"datasets.{dataset['id']}.tables.{table['name']}.columns"
    assert lab.problem(f"{at}.bsn_nummer.id").code == "national_identifier"
    assert lab.problem(f"{at}.ziekteverzuim.id").code == "special_category"


def test_r_pol_2_marked_special_refusal_cites_the_law_and_never_suggests_relabelling(lab) -> None:
    lab.item("categories", "content")["special"] = True
    problem = lab.problem("categories.content.special")
    assert "GDPR Art. 9" in problem.reason and "special: false" not in problem.reason
    assert "GDPR Art. 9" in lab.problem("purposes.community.categories").reason


def test_r_pol_2_ordinary_names_with_near_words_pass(shipped_policy) -> None:
    """The shipped categories (web traffic, financial claims, ...) are not taken for special data."""
    from kluis.policy.special import special_names

    assert list(special_names(shipped_policy)) == []


def test_r_pol_2_basis_writes_fit_the_basis_and_keep_the_persons_decisions_recordable(lab) -> None:
    """R-GATE-1: the writes that go ahead without the gate are named per purpose, and checked."""
    lab.item("purposes", "marketing_email")["basis_writes"] = ["register", "objection"]
    lab.item("purposes", "security")["basis_writes"] = ["relation"]
    lab.item("purposes", "orders")["basis_writes"] = ["register", "register"]
    assert lab.problem("purposes.marketing_email.basis_writes").code == "consent_write_missing"
    codes = {p.code for p in lab.refused() if p.path == "purposes.security.basis_writes"}
    assert codes == {"basis_write_unfit", "objection_write_missing"}
    assert lab.problem("purposes.orders.basis_writes").code == "basis_write_repeated"
