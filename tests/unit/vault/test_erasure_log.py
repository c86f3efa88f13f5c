"""The erasure log's lines and their merging (R-VLT-5, docs/adr/0010-erasure-log.md)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from kluis.kit.errors import Invalid
from kluis.vault import erasure_log
from kluis.vault.erasure_log import Entry

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_r_vlt_5_a_line_reads_back_as_the_entry_it_was():
    entries = [Entry(at=AT, action=erasure_log.KEY_REPLACED, reason="erasure", key_id=uuid.uuid4(),
                     job_id=uuid.uuid4(), key_created_at=AT - timedelta(minutes=1)),
               Entry(at=AT, action=erasure_log.SUPPRESSED, reason="account", list_id="marketing_email",
                     digests=("ab" * 32,))]
    for entry in entries:
        line = entry.line()
        assert line.endswith("\n") and json.loads(line)["v"] == erasure_log.FORMAT
        assert Entry.from_line(line) == entry


@pytest.mark.parametrize("line", [
    "not json", "[]", '{"v": 2, "action": "key_destroyed"}', '{"v": 1, "action": "dropped"}',
    '{"v": 1, "action": "suppressed", "id": "x", "at": "2026-11-25T12:00:00+00:00", "reason": "account"}',
    '{"v": 1, "action": "key_destroyed", "id": "0b9c4b0e-6d4f-4f7e-9a3c-2f1d5e8a7b61", "at": "2026-11-25T12:00:00", '
    '"reason": "erasure"}',
    '{"v": 1, "action": "suppressed", "id": "5d2e7f10-3a4b-4c8d-9e6f-7a8b9c0d1e2f", "at": "2026-11-25T12:00:00+00:00", '
    '"reason": "account", "digests": ["zz"]}',
])
def test_r_vlt_5_a_line_that_is_not_an_entry_is_refused_by_its_number(tmp_path, line):
    copy = tmp_path / "copy.jsonl"
    copy.write_text(Entry(at=AT, action=erasure_log.KEY_DESTROYED, reason="erasure", key_id=uuid.uuid4()).line()
                    + "\n" + line + "\n")
    with pytest.raises(Invalid) as refused:
        list(erasure_log.read_file(copy))
    assert refused.value.code == "erasure_log_invalid" and "line 3" in refused.value.message


def test_r_vlt_5_the_copys_entries_the_key_store_lacks_are_found_once_and_ordered_by_instant():
    old = Entry(at=AT, action=erasure_log.KEY_DESTROYED, reason="erasure", key_id=uuid.uuid4())
    new = Entry(at=AT + timedelta(hours=1), action=erasure_log.KEY_DESTROYED, reason="erasure", key_id=uuid.uuid4())
    same = Entry(at=AT, action=erasure_log.SUPPRESSED, reason="account", list_id="marketing_email",
                 digests=("cd" * 32,))
    lacking = erasure_log.lacking({old.id}, [old, new, same, new])
    assert lacking == [new, same]
    assert erasure_log.in_order([old] + lacking) == [old, same, new]


def test_r_vlt_5_copies_are_appended_whole_and_kept_from_others(tmp_path):
    copy = tmp_path / "copy.jsonl"
    first = [Entry(at=AT, action=erasure_log.KEY_DESTROYED, reason="retention", key_id=uuid.uuid4())
             for _ in range(3)]
    erasure_log.append(copy, first[:2])
    erasure_log.append(copy, first[2:])
    assert list(erasure_log.read_file(copy)) == first
    assert oct(copy.stat().st_mode & 0o777) == "0o600"
