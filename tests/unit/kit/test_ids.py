"""Ids made for a batch are random version-4 UUIDs like any other (R-VLT-1: a record's id binds its ciphertext)."""

import uuid

from kluis.kit.ids import new_id, new_ids


def test_r_vlt_1_issue_18_6_batch_ids_are_random_version_4_uuids_that_behave_as_any_uuid():
    ids = new_ids(5000)
    assert len(ids) == 5000 and len(set(ids)) == 5000
    assert all(i.version == 4 and i.variant == uuid.RFC_4122 for i in ids)
    for made in ids[:50]:
        parsed = uuid.UUID(str(made))
        assert parsed == made and hash(parsed) == hash(made) and parsed.bytes == made.bytes
        assert {made: 1}[parsed] == 1 and made != new_id()
    assert new_ids(0) == []
