"""`kluis staff` commands (R-GATE-2): add, list, disable, reset-password, through Typer's runner."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from kluis.audit.models import AuditEvent
from kluis.staff import commands, service
from kluis.staff.models import StaffAccount
from kluis.wiring import Kluis

runner = CliRunner()
EMAIL = "Petra.Bakker@benvitaal.nl"


@pytest.fixture(autouse=True)
def _inject(kluis: Kluis, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commands, "get_kluis", lambda: kluis)


def _login(kluis: Kluis, email: str, password: str, secret: str) -> str:
    with kluis.db.transaction() as session:
        return service.login(session, kluis.clock, kluis.keys, kluis.settings, email, password,
                             pyotp.TOTP(secret).at(kluis.clock.now()))


def _actions(kluis: Kluis) -> list[str]:
    with kluis.db.sessions() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_r_gate_2_cli_add_prints_password_and_totp_once_and_they_work(kluis: Kluis) -> None:
    result = runner.invoke(commands.app, ["add", EMAIL, "--role", "dpo"])
    assert result.exit_code == 0, result.output
    password = re.search(r"Password \(shown once, hand it over safely\): (\S+)", result.output).group(1)
    uri = re.search(r"URI:\s+(otpauth://totp/\S+)", result.output).group(1)
    secret = re.search(r"Secret:\s+([A-Z2-7]+)", result.output).group(1)
    assert pyotp.parse_uri(uri).secret == secret
    assert _login(kluis, EMAIL, password, secret)
    with kluis.db.sessions() as session:
        account = session.scalars(select(StaffAccount)).one()
    assert account.role == "dpo" and account.password_hash.startswith("$argon2id$")


def test_r_gate_2_cli_add_reads_the_password_from_stdin(kluis: Kluis) -> None:
    result = runner.invoke(commands.app, ["add", EMAIL, "--role", "auditor", "--password-stdin"],
                           input="Gekozen-Wachtzin-2026\n")
    assert result.exit_code == 0, result.output
    assert "Password" not in result.output and "Gekozen-Wachtzin-2026" not in result.output
    secret = re.search(r"Secret:\s+([A-Z2-7]+)", result.output).group(1)
    assert _login(kluis, EMAIL, "Gekozen-Wachtzin-2026", secret)


def test_r_gate_2_cli_refuses_a_duplicate_a_bad_role_and_a_weak_password(kluis: Kluis) -> None:
    assert runner.invoke(commands.app, ["add", EMAIL, "--role", "support"]).exit_code == 0
    duplicate = runner.invoke(commands.app, ["add", EMAIL.upper(), "--role", "support"])
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    assert runner.invoke(commands.app, ["add", "x@benvitaal.nl", "--role", "root"]).exit_code == 2
    weak = runner.invoke(commands.app, ["add", "x@benvitaal.nl", "--role", "dpo", "--password-stdin"],
                         input="kort\n")
    assert weak.exit_code == 1 and "at least 12 characters" in weak.output


def test_r_gate_2_cli_list_shows_emails_only_when_asked_and_audits_it(kluis: Kluis) -> None:
    assert runner.invoke(commands.app, ["list"]).output.startswith("No staff accounts yet")
    runner.invoke(commands.app, ["add", EMAIL, "--role", "support"])
    runner.invoke(commands.app, ["add", "kees@benvitaal.nl", "--role", "marketing"])
    plain = runner.invoke(commands.app, ["list"])
    assert plain.exit_code == 0 and "support" in plain.output and "marketing" in plain.output
    assert "benvitaal" not in plain.output and plain.output.count("active") == 2
    assert "staff.emails_shown" not in _actions(kluis)
    shown = runner.invoke(commands.app, ["list", "--show-emails"])
    assert EMAIL.lower() in shown.output and "kees@benvitaal.nl" in shown.output
    assert _actions(kluis).count("staff.emails_shown") == 1


def test_r_gate_2_cli_disable_and_reset_password(kluis: Kluis) -> None:
    added = runner.invoke(commands.app, ["add", EMAIL, "--role", "support"])
    secret = re.search(r"Secret:\s+([A-Z2-7]+)", added.output).group(1)
    reset = runner.invoke(commands.app, ["reset-password", EMAIL])
    assert reset.exit_code == 0, reset.output
    password = re.search(r"Password \(shown once, hand it over safely\): (\S+)", reset.output).group(1)
    assert _login(kluis, EMAIL, password, secret)
    disabled = runner.invoke(commands.app, ["disable", EMAIL])
    assert disabled.exit_code == 0 and "Disabled" in disabled.output
    assert "disabled" in runner.invoke(commands.app, ["list"]).output
    unknown = runner.invoke(commands.app, ["disable", "niemand@benvitaal.nl"])
    assert unknown.exit_code == 1 and "no staff account" in unknown.output
    assert {"staff.password_reset", "staff.disabled"} <= set(_actions(kluis))
