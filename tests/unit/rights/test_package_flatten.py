"""CSV columns of an access package (R-DSR-3): nested content becomes dotted keys."""

from kluis.rights.packages.archive import flatten


def test_r_dsr_3_nested_content_becomes_dotted_columns():
    assert flatten({"content": {"name": "Anna", "address": {"city": "Utrecht", "geo": {"lat": 52.09}}}}) == {
        "content.name": "Anna", "content.address.city": "Utrecht", "content.address.geo.lat": "52.09"}


def test_r_dsr_3_lists_stay_one_cell_and_scalars_are_plain_text():
    assert flatten({"tags": ["run", "yoga"], "active": True, "note": None, "n": 3}) == {
        "tags": '["run", "yoga"]', "active": "true", "note": "", "n": "3"}


def test_r_dsr_3_empty_content_gives_no_columns():
    assert flatten({}) == {}
