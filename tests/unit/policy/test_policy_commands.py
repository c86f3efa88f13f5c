"""R-POL-2/R-POL-3 from the command line: ``kluis policy check`` and ``kluis policy render``."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kluis.policy.commands import app
from kluis.policy.schemas import Policy, version_label

runner = CliRunner()


def test_r_pol_2_cli_check_ok(shipped_path: Path, shipped_policy: Policy) -> None:
    result = runner.invoke(app, ["check", str(shipped_path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"OK {shipped_path} (version hash {version_label(shipped_policy.content_hash)}")


def test_r_pol_2_cli_check_prints_every_problem_and_fails(lab) -> None:
    del lab.item("purposes", "orders")["basis"]
    lab.item("purposes", "marketing_email")["withdrawal"] = []
    path = lab.write()
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert any(line.startswith(f"{path}:") and ": purposes.orders.basis: purpose has no legal basis" in line
               for line in lines)
    assert any(": purposes.marketing_email.withdrawal: " in line for line in lines)
    assert "refused (2 problems)" in lines[-1]
    assert "OK" not in result.stdout


def test_r_pol_3_cli_render_markdown_to_stdout(shipped_path: Path) -> None:
    result = runner.invoke(app, ["render", "--lang", "en", "--format", "md", str(shipped_path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# benVitaal privacy statement")
    assert "36 months" in result.stdout


def test_r_pol_3_cli_render_html_to_file(shipped_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "privacy.html"
    result = runner.invoke(app, ["render", "--lang", "nl", "--format", "html", "--out", str(out), str(shipped_path)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert '<html lang="nl">' in page and "7 jaar" in page
    assert result.stdout == ""


def test_r_pol_3_cli_render_bad_option_values(shipped_path: Path) -> None:
    result = runner.invoke(app, ["render", "--lang", "de", str(shipped_path)])
    assert result.exit_code == 2
    assert "Invalid value for '--lang'" in result.output and "'de'" in result.output
    result = runner.invoke(app, ["render", "--format", "pdf", str(shipped_path)])
    assert result.exit_code == 2
    assert "Invalid value for '--format'" in result.output


def test_r_pol_3_cli_render_refuses_an_invalid_policy(lab) -> None:
    lab.item("processors", "webinar_platform")["transfer"] = "eea"
    result = runner.invoke(app, ["render", str(lab.write())])
    assert result.exit_code == 1
    assert "processors.webinar_platform.transfer" in result.stderr
