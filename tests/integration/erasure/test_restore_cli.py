"""`kluis erasure restore replay` and `kluis erasure restore export-log` (R-VLT-5, docs/restore.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.integration.erasure.erasure_support import person_with_everything
from tests.integration.erasure.restore_support import Backup, erase, events, look_up, state
from typer.testing import CliRunner

from kluis import wiring
from kluis.cli import app
from kluis.vault import erasure_log

runner = CliRunner()


def said(result):
    """The output as one line (the console wraps it at its width)."""
    return " ".join(result.output.split())


@pytest.fixture
def cli_kluis(kluis):
    wiring.use_for_cli(kluis)
    yield kluis
    wiring.use_for_cli(None)


def test_r_vlt_5_replay_since_the_backup_from_the_command_line(cli_kluis, clock, tmp_path):
    kluis = cli_kluis
    erased_id, _ = person_with_everything(kluis, claims=0)
    backup = Backup(kluis.db.engine, tmp_path, "data")
    backup.take()
    since = clock.now().isoformat()
    clock.advance(timedelta(minutes=5))
    erase(kluis, erased_id)
    backup.restore()

    result = runner.invoke(app, ["restore", "replay", "--since", since])
    assert result.exit_code == 0, result.output
    assert "1 erased person brought back in line (2 record(s), 2 identifier(s) erased)" in said(result)
    assert "1 suppression entry restored" in said(result)
    assert look_up(kluis, "wissen@example.nl") is None
    again = runner.invoke(app, ["restore", "replay"])
    assert again.exit_code == 0 and "0 erased people brought back in line" in said(again)


def test_r_vlt_5_a_bad_since_or_a_missing_copy_is_refused_and_nothing_is_written(cli_kluis, tmp_path):
    before = state(cli_kluis)
    for args, message in ((["--since", "gisteren"], "--since is not an ISO 8601 instant"),
                          (["--since", "2026-11-25T03:00"], "--since is not an ISO 8601 instant"),
                          (["--log-file", str(tmp_path / "nowhere.jsonl")], "cannot read the erasure log copy")):
        result = runner.invoke(app, ["restore", "replay", *args])
        assert result.exit_code == 1 and message in said(result), result.output
    (tmp_path / "bad.jsonl").write_text('{"v": 1, "action": "key_destroyed"}\n')
    result = runner.invoke(app, ["restore", "replay", "--log-file", str(tmp_path / "bad.jsonl")])
    assert result.exit_code == 1 and "line 1: not an erasure log entry" in said(result), result.output
    assert state(cli_kluis) == before and events(cli_kluis, "restore.replayed") == []


def test_r_vlt_5_export_log_writes_the_key_stores_log_to_a_new_file_only(cli_kluis, tmp_path):
    kluis = cli_kluis
    erase(kluis, person_with_everything(kluis, claims=0)[0])
    target = tmp_path / "export.jsonl"
    result = runner.invoke(app, ["restore", "export-log", "--out", str(target)])
    assert result.exit_code == 0, result.output
    entries = list(erasure_log.read_file(target))
    assert [e.action for e in entries] == ["suppressed", "key_destroyed"]
    assert f"wrote 2 erasure log entries to {target}" in result.output.replace("\n", "")
    again = runner.invoke(app, ["restore", "export-log", "--out", str(target)])
    assert again.exit_code == 1 and "exists; export to a new file" in said(again)
