"""Upgrading a vault from the engine that kept its dedup index in DynamoDB (one item per chunk) and wrote packs
without chunk lists (before 26de891): `rebuild-index` must index those packs from the old items, or every
recovery point stored in them stops restoring (found by the cold review of the S3 index)."""

from test_engine_gc_safety import first_point, world  # noqa: F401  (the fixture)

from engine.packs import CHUNK_LIST_ENTRY, FOOTER
from engine.rebuild import rebuild_index


def test_an_upgraded_vault_whose_packs_predate_chunk_lists_still_restores_its_points(world):  # noqa: F811
    first_point(world)
    vault, db = world.vault, world.vault.index.dynamodb
    for key in vault.index.blob_keys():
        for e in vault.index.read_blob(key):  # the old layout's items, as the DynamoDB-index engine wrote them
            db.put_item(
                TableName=vault.index.table_name,
                Item={
                    "chunkHash": {"S": e.digest.hex()},
                    "packKey": {"S": e.pack_key},
                    "offset": {"N": str(e.offset)},
                    "length": {"N": str(e.length)},
                    "rawLength": {"N": str(e.raw_length)},
                    "epoch": {"N": "1700000000"},
                },
            )
        vault.bucket.delete(key)
    for info in list(vault.bucket.list("packs/")):  # packs written before chunk lists: frames only
        raw = vault.bucket.get(info.key)
        count = FOOTER.unpack(raw[-FOOTER.size :])[0]
        vault.bucket.put(info.key, raw[: len(raw) - FOOTER.size - count * CHUNK_LIST_ENTRY.size])

    report = rebuild_index(vault, world.job, clock=world.clock)

    assert world.restores_exactly("rp-1")
    assert report.entries_added > 0
