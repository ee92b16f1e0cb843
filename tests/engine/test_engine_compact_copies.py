"""Compaction and other copies of a chunk (review risks left without tests by the S3-index session):
(a) a condemned pack's live chunk is dropped because the index names a copy elsewhere: that copy must have been
read back first, or a corrupt or missing duplicate becomes the only copy; (b) packs written by a compaction that
died before its merged index blob are copies no blob names: the next compaction must converge on one copy of
each chunk, losing none and not adding a copy per crash."""

import pytest
from test_engine_gc_safety import GC, HOUR, first_point, world  # noqa: F401  (the fixture)

from engine.manifest import manifest_key
from engine.packs import PACK_PREFIX, read_chunk_list
from engine.scan import run_scan


def rp2_stores_its_chunks_again(world):  # noqa: F811
    """rp-1 expired and its packs condemned; rp-2, taken from the same data, stores every chunk again (a backup
    never reuses a condemned pack's chunk): each live chunk now has a copy in a condemned pack and one in rp-2's."""
    first_point(world)
    world.clock.advance(1 * HOUR)
    world.compact(expired_rps=["rp-1"])
    world.snapshot("rp-2", {})
    result = world.backup("rp-2")
    assert result.chunks_new > 0
    return result


def copies(world) -> dict[bytes, list[str]]:  # noqa: F811
    found: dict[bytes, list[str]] = {}
    for info in world.vault.bucket.list(PACK_PREFIX):
        for chunk in read_chunk_list(world.vault.bucket, info.key, info.size) or []:
            found.setdefault(chunk.digest, []).append(info.key)
    return found


def test_a_corrupt_duplicate_never_becomes_the_only_copy_of_a_live_chunk(world):  # noqa: F811
    second = rp2_stores_its_chunks_again(world)
    # One of rp-2's copies rots (a bit flips in S3, an operator's edit): the index still names it.
    victim = second.packs[0]
    raw = bytearray(world.vault.bucket.get(victim))
    first = read_chunk_list(world.vault.bucket, victim, len(raw))[0]
    raw[first.offset + first.length // 2] ^= 0xFF
    world.vault.bucket.put(victim, bytes(raw))
    world.clock.advance(GC.grace_seconds + HOUR)

    world.compact()  # rp-1's condemned packs are collected

    # Scan flags the rotten copy (repair), so reads go to another copy: there must still be a good one.
    run_scan(world.vault, world.vault.read_manifest(manifest_key("vol-1", "rp-2")), world.job)
    assert world.restores_exactly("rp-2")


def test_packs_of_a_compaction_killed_before_its_merged_blob_converge_to_one_copy(world):  # noqa: F811
    first_point(world)
    world.snapshot("rp-2", {3: 300, 5: 500})
    world.backup("rp-2")
    world.clock.advance(1 * HOUR)
    world.compact(expired_rps=["rp-1"])  # packs holding rp-1's old blocks are condemned
    world.clock.advance(GC.grace_seconds + HOUR)
    write_blob = world.vault.index.write_blob

    def killed_at_the_merged_blob(entries, kind="b"):
        if kind == "m":
            raise RuntimeError("task killed")
        return write_blob(entries, kind)

    for attempt in range(3):  # it dies there three times in a row: each time it copied the live chunks first
        world.vault.index.write_blob = killed_at_the_merged_blob
        with pytest.raises(RuntimeError, match="killed"):
            world.compact(job_id=f"killed-{attempt}")
        world.vault.index.write_blob = write_blob
        world.clock.advance(GC.lock_ttl_seconds + 60)
    for _ in range(3):
        world.compact(job_id="compact-2")
        world.clock.advance(GC.grace_seconds + HOUR)

    assert world.restores_exactly("rp-2")
    doubled = {digest: packs for digest, packs in copies(world).items() if len(packs) > 1}
    assert doubled == {}, f"{len(doubled)} chunk(s) kept in more than one pack"
