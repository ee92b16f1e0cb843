"""Upgrading a vault from the engine that kept its dedup index in DynamoDB (one item per chunk) and wrote packs
without chunk lists (before 26de891): `rebuild-index` must index those packs from the old items, or every
recovery point stored in them stops restoring (found by the cold review of the S3 index)."""

import json

import pytest
from engine_world import SMALL, create_vault, set_manifest_format, volume_bytes
from test_engine_gc_safety import first_point, world  # noqa: F401  (the fixture)
from test_engine_old_image import Clock, new_backup, old_backup, restores

from engine.lock import FENCE_OWNER, LOCK_KEY
from engine.packs import CHUNK_LIST_ENTRY, FOOTER
from engine.rebuild import rebuild_index
from engine.upgrade import prepare_vault
from engine.vaultconfig import CONFIG_KEY


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


# ---- a vault's first job under this engine finishes its upgrade (engine/upgrade.py) ---------------------------


def dynamodb_era_vault(vault, image, clock, without_chunk_lists=False):
    """rp-1 backed up by the engine that kept its index in DynamoDB (tests/engine/vendor, commit 75dc482)."""
    old_backup(vault, image, "rp-1", clock)
    if without_chunk_lists:  # packs written before chunk lists existed (before 26de891): frames only
        strip_chunk_lists(vault)
    assert not vault.index.blob_keys()
    return vault


def strip_chunk_lists(vault):
    for info in list(vault.bucket.list("packs/")):
        raw = vault.bucket.get(info.key)
        count = FOOTER.unpack(raw[-FOOTER.size :])[0]
        vault.bucket.put(info.key, raw[: len(raw) - FOOTER.size - count * CHUNK_LIST_ENTRY.size])


def config_document(vault) -> dict:
    return json.loads(vault.bucket.get(CONFIG_KEY))


def test_the_first_backup_in_a_dynamodb_era_vault_reuses_what_the_vault_holds(vault, image):
    clock = Clock()
    dynamodb_era_vault(vault, image, clock)

    point = new_backup(vault, image, "rp-2", clock)

    assert point.chunks_new == 0 and point.chunks_reused > 0  # not a second full upload
    assert config_document(vault)["indexMigrated"] is True


@pytest.mark.parametrize("without_chunk_lists", [False, True])
def test_the_first_restore_in_a_dynamodb_era_vault_restores_a_point_written_before_the_upgrade(
    vault, image, tmp_path, without_chunk_lists
):
    clock = Clock()
    dynamodb_era_vault(vault, image, clock, without_chunk_lists)

    assert restores(vault, "manifests/vol-1/rp-1.json", image, tmp_path)


def test_a_version_2_vault_writes_version_3_manifests_once_old_engines_are_fenced_out(vault, image):
    clock = Clock()
    dynamodb_era_vault(vault, image, clock)
    assert "manifestFormat" not in config_document(vault)  # version 2 (JSON), as the old engine configured it

    point = new_backup(vault, image, "rp-2", clock)

    assert point.manifest_key.endswith(".manifest")
    document = config_document(vault)
    assert (document["manifestFormat"], document["oldEnginesFenced"]) == (3, True)
    lock = vault.index.dynamodb.get_item(TableName=vault.index.table_name, Key={"chunkHash": {"S": LOCK_KEY}})
    assert lock["Item"]["owner"]["S"] == FENCE_OWNER
    # An operator's later choice stands: the switch happens once.
    set_manifest_format(vault, 2)
    vault.__dict__.pop("config")
    assert new_backup(vault, image, "rp-3", clock).manifest_key.endswith(".json")


class Killed(BaseException):
    """The task stops here (SIGKILL, a lost Fargate host): nothing after it runs, no handler cleans up."""


class KillAtWrite:
    """Counts the S3 and DynamoDB writes a job makes through a client and kills the job at the `at`-th: before it
    reaches AWS, or (`after`) once AWS has applied it and before the job hears back."""

    S3_WRITES = ("put_object", "delete_object", "create_multipart_upload", "complete_multipart_upload")
    TABLE_WRITES = ("update_item", "put_item", "delete_item")

    def __init__(self, at: int, after: bool):
        self.at, self.after, self.count = at, after, 0

    def wrap(self, client, writes):
        killer = self

        class Proxy:
            def __getattr__(self, name):
                call = getattr(client, name)
                if name not in writes:
                    return call

                def write(*args, **kwargs):
                    killer.count += 1
                    if killer.count == killer.at and not killer.after:
                        raise Killed(f"killed before write {killer.count} ({name})")
                    answer = call(*args, **kwargs)
                    if killer.count == killer.at:
                        raise Killed(f"killed after write {killer.count} ({name})")
                    return answer

                return write

        return Proxy()


@pytest.mark.parametrize("after", [False, True], ids=["before-the-write", "after-the-write"])
def test_a_first_job_killed_at_any_write_of_the_upgrade_leaves_every_point_restorable(aws, tmp_path, after):
    image = tmp_path / "vol.img"
    image.write_bytes(volume_bytes(3 * SMALL.segment_bytes, seed=3))
    for at in range(1, 40):
        clock = Clock()
        vault = dynamodb_era_vault(create_vault(aws, f"kill-{int(after)}-{at}"), image, clock, without_chunk_lists=True)
        packs_before = {info.key for info in vault.bucket.list("packs/")}
        s3, db = vault.bucket._s3, vault.index.dynamodb
        killer = KillAtWrite(at, after)
        vault.bucket._s3, vault.index.dynamodb = killer.wrap(s3, killer.S3_WRITES), killer.wrap(db, killer.TABLE_WRITES)
        try:
            new_backup(vault, image, "rp-2", clock)
            finished = True
        except Killed:
            finished = False
        vault.bucket._s3, vault.index.dynamodb = s3, db
        vault.__dict__.pop("config", None)  # a new task reads everything again

        assert {info.key for info in vault.bucket.list("packs/")} >= packs_before, f"killed at write {at}"
        clock.offset += 16 * 60  # a killed holder's lock lapses
        prepare_vault(vault, "next-job", clock)  # the next job finishes what was left
        assert restores(vault, "manifests/vol-1/rp-1.json", image, tmp_path), f"killed at write {at}"
        assert config_document(vault)["indexMigrated"] is True
        assert new_backup(vault, image, "rp-3", clock).chunks_new == 0, f"killed at write {at}"
        if finished:
            break
    else:
        pytest.fail("the job never ran to its end")
    assert at > 5  # it was killed at each of its writes before that
