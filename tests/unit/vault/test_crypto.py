"""Envelope encryption and blind index (R-VLT-1, R-VLT-2, R-VLT-5)."""

import uuid

import pytest

from kluis.kit.secrets import new_secret, parse_secret
from kluis.vault.crypto import KeyRing, Unreadable, new_data_key, open_sealed, seal


def ring(**over) -> KeyRing:
    base = {"master": parse_secret("m", new_secret()), "previous": (), "index": parse_secret("i", new_secret()),
            "secret": parse_secret("s", new_secret())}
    return KeyRing(**(base | over))


def test_r_vlt_1_record_round_trips_and_is_bound_to_person_record_and_category():
    dek, person, record = new_data_key(), uuid.uuid4(), uuid.uuid4()
    sealed = seal(dek, person, record, "basic", b'{"name":"Anna de Vries"}')
    assert b"Anna" not in sealed
    assert open_sealed(dek, person, record, "basic", sealed) == b'{"name":"Anna de Vries"}'
    for moved in ((uuid.uuid4(), record, "basic"), (person, uuid.uuid4(), "basic"), (person, record, "financial")):
        with pytest.raises(Unreadable):
            open_sealed(dek, *moved, sealed)


def test_r_vlt_1_fresh_nonce_each_time():
    dek, person, record = new_data_key(), uuid.uuid4(), uuid.uuid4()
    assert seal(dek, person, record, "basic", b"x") != seal(dek, person, record, "basic", b"x")


def test_r_vlt_1_flipped_byte_is_detected():
    dek, person, record = new_data_key(), uuid.uuid4(), uuid.uuid4()
    sealed = bytearray(seal(dek, person, record, "basic", b"hello"))
    sealed[-1] ^= 1
    with pytest.raises(Unreadable):
        open_sealed(dek, person, record, "basic", bytes(sealed))


def test_r_vlt_5_wrapped_key_opens_only_with_its_master_key_and_person():
    keys, person, dek = ring(), uuid.uuid4(), new_data_key()
    wrapped = keys.wrap(person, dek)
    assert keys.unwrap(person, wrapped, keys.master_id) == dek
    with pytest.raises(Unreadable):
        keys.unwrap(uuid.uuid4(), wrapped, keys.master_id)
    other = ring()
    with pytest.raises(Exception, match="not configured"):
        other.unwrap(person, wrapped, keys.master_id)


def test_r_vlt_1_rotation_keyring_opens_keys_wrapped_by_previous_master():
    old = ring()
    new = ring(previous=(old.master,), index=old.index)
    person, dek = uuid.uuid4(), new_data_key()
    assert new.unwrap(person, old.wrap(person, dek), old.master_id) == dek


def test_r_vlt_1_an_object_key_is_bound_to_its_kind_and_id_and_opens_under_a_previous_master():
    old = ring()
    key, owner = new_data_key(), uuid.uuid4()
    wrapped = old.wrap_key("order-document", owner, key)
    assert old.unwrap_key("order-document", owner, wrapped, old.master_id) == key
    for kind, other in (("complaint", owner), ("order-document", uuid.uuid4())):
        with pytest.raises(Unreadable):
            old.unwrap_key(kind, other, wrapped, old.master_id)
    new = ring(previous=(old.master,))
    assert new.unwrap_key("order-document", owner, wrapped, old.master_id) == key


def test_r_vlt_1_a_sealed_value_opens_under_a_previous_master_until_sealed_anew():
    old = ring()
    sealed = old.seal_secret(b"staff-email|x", b"dpo@benvitaal.nl")
    new = ring(previous=(old.master,), index=old.index, secret=old.secret)
    assert new.open_secret(b"staff-email|x", sealed) == b"dpo@benvitaal.nl"
    anew = new.reseal_secret(b"staff-email|x", sealed)
    assert anew is not None and new.reseal_secret(b"staff-email|x", anew) is None  # already under the current key
    alone = ring(master=new.master)
    assert alone.open_secret(b"staff-email|x", anew) == b"dpo@benvitaal.nl"
    with pytest.raises(Unreadable):
        alone.open_secret(b"staff-email|x", sealed)
    with pytest.raises(Unreadable):
        alone.reseal_secret(b"staff-email|x", sealed)  # its master key is no longer configured


def test_r_vlt_2_digest_is_keyed_and_separates_kind_and_scope():
    a, b = ring(), ring()
    assert a.digest("email", "", "x@y.nl") == a.digest("email", "", "x@y.nl")
    assert a.digest("email", "", "x@y.nl") != b.digest("email", "", "x@y.nl")
    assert a.digest("employee_number", "e1", "123") != a.digest("employee_number", "e2", "123")
    assert a.digest("email", "", "x@y.nl") != a.digest("phone", "", "x@y.nl")


def test_bad_configured_secret_is_refused_clearly():
    with pytest.raises(Exception, match="32 bytes"):
        parse_secret("KLUIS_MASTER_KEY", "c2hvcnQ")


def test_r_vlt_1_issue_18_6_records_sealed_together_open_alone_each_with_its_own_nonce():
    from kluis.vault.crypto import NONCE, RecordCipher, seal_all

    dek = new_data_key()
    person = uuid.uuid4()
    records = [(RecordCipher(dek), person, uuid.uuid4(), "basic", f"record {n}".encode()) for n in range(50)]
    sealed = seal_all(records)
    assert len({s[1:1 + NONCE] for s in sealed}) == 50
    for (_, pid, rid, category, plaintext), ciphertext in zip(records, sealed, strict=True):
        assert open_sealed(dek, pid, rid, category, ciphertext) == plaintext
    with pytest.raises(Unreadable):
        open_sealed(dek, person, records[1][2], "basic", sealed[0])


def test_r_vlt_1_issue_18_6_keys_unwrap_under_the_current_and_a_previous_master_key():
    old = ring()
    wrapped = old.wrap(person := uuid.uuid4(), dek := new_data_key())
    rotated = KeyRing(master=new_secret_bytes(), previous=(old.master,), index=old.index, secret=old.secret)
    assert rotated.unwrap(person, wrapped, old.master_id) == dek
    assert rotated.unwrap(person, rotated.wrap(person, dek), rotated.master_id) == dek
    with pytest.raises(Unreadable):
        rotated.unwrap(uuid.uuid4(), wrapped, old.master_id)


def new_secret_bytes() -> bytes:
    return parse_secret("KEY", new_secret())
