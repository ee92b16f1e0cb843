"""The S3 index blobs: the format round-trips, damage is detected and never trusted, and a bad flag sticks."""

import pytest

from engine.index import IndexEntry, IndexFormatError, decode_blob, encode_blob


def entry(n: int, pack: str = "packs/a.pack", bad: bool = False) -> IndexEntry:
    return IndexEntry(bytes([n]) * 32, pack, n * 100, 100, 400, bad)


def test_a_blob_round_trips_sorted_by_chunk_id():
    entries = [entry(3, "packs/b.pack"), entry(1), entry(2, bad=True)]

    assert decode_blob(encode_blob(entries)) == sorted(entries, key=lambda e: e.digest)


@pytest.mark.parametrize("position", [0, 20, -30, -1])
def test_a_damaged_blob_is_refused(position):
    blob = bytearray(encode_blob([entry(1), entry(2, "packs/b.pack")]))
    blob[position] ^= 0x01

    with pytest.raises(IndexFormatError):
        decode_blob(bytes(blob))


def test_a_damaged_blob_is_skipped_and_reported_and_the_rest_still_loads(vault):
    good = vault.index.write_blob([entry(1)])
    damaged = vault.index.write_blob([entry(2)])
    vault.bucket.put(damaged, vault.bucket.get(damaged)[:-1] + b"\0")
    problems = []

    with vault.index.load(problems=problems) as view:
        found = view.locate([entry(1).digest, entry(2).digest])

    assert set(found) == {entry(1).digest} and view.blobs == [good]
    assert len(problems) == 1 and damaged in problems[0] and "rebuild-index" in problems[0]


def test_a_copy_flagged_bad_in_any_blob_is_neither_reused_nor_read(vault):
    vault.index.write_blob([entry(1), entry(1, "packs/b.pack")])
    vault.index.write_blob([entry(1, bad=True)], "x")

    with vault.index.load() as view:
        usable, located = view.usable([entry(1).digest]), view.locate([entry(1).digest])

    assert usable[entry(1).digest].pack_key == "packs/b.pack" == located[entry(1).digest].pack_key


def test_a_chunk_whose_only_copies_are_in_condemned_packs_is_not_usable_but_still_readable(vault):
    vault.index.write_blob([entry(1)])

    with vault.index.load(condemned={"packs/a.pack"}) as view:
        assert view.usable([entry(1).digest]) == {}
        assert view.locate([entry(1).digest])[entry(1).digest].pack_key == "packs/a.pack"
