import json

import pytest
from engine_world import JOBS_TABLE, volume_bytes

from elastio_contract import environment as env_names
from elastio_pulumi.job_definitions import job_command  # the job definitions' own command line
from engine.catalog import command_envelope
from engine.cli import build_parser, main
from lambdas.shared.envelopes import parse_command  # the Catalog's own validation of the envelope

SNAPSHOT = "snap-0123456789abcdef0"


@pytest.fixture
def backed_up(aws, environ, tmp_path, monkeypatch):
    """A recovery point made through the CLI (the Catalog call goes to a recording `register`)."""
    registered = []
    monkeypatch.setattr("engine.cli.lambda_register", lambda client, name: registered.append)
    image = tmp_path / "vol.img"
    image.write_bytes(volume_bytes(128 * 1024))
    argv = ["backup", "--job-id", "job-7", "--asset-id", "vol-1", "--snapshot-id", SNAPSHOT,
            "--image-file", str(image), "--parent-recovery-point-id", ""]  # fmt: skip
    assert main(argv, environ, aws) == 0
    return image, registered


def test_backup_defaults_the_recovery_point_id_to_the_job_id_and_registers_it(backed_up):
    _, registered = backed_up

    assert [p["recoveryPointId"] for p in registered] == ["rp-job-7"]
    assert "parentRecoveryPointId" not in registered[0]  # an empty Ref:: parameter means no parent


def test_backup_records_progress_and_result_in_the_job_record(aws, backed_up):
    item = aws.client("dynamodb").get_item(TableName=JOBS_TABLE, Key={"jobId": {"S": "job-7"}})["Item"]

    assert "state" not in item  # the state is Job status's, from Batch's events (lambdas/shared/jobs.py)
    assert item["progress"]["M"]["percent"]["N"] == "100"
    assert item["result"]["M"]["recoveryPointId"]["S"] == "rp-job-7"


def test_restore_to_a_file_target_through_the_cli_gives_the_image(aws, environ, backed_up, tmp_path):
    image, _ = backed_up
    target = tmp_path / "out.img"

    code = main(
        ["restore", "--job-id", "job-8", "--recovery-point-id", "rp-job-7", "--target", f"file:{target}"],
        environ,
        aws,
    )

    assert code == 0 and target.read_bytes() == image.read_bytes()


def test_scan_exits_3_when_a_chunk_is_corrupt(aws, environ, vault, backed_up, capsys):
    entry = next(vault.index.scan())
    pack = bytearray(vault.bucket.get(entry.pack_key))
    pack[entry.offset] ^= 0xFF
    vault.bucket.put(entry.pack_key, bytes(pack))

    code = main(["scan", "--job-id", "job-9", "--recovery-point-id", "rp-job-7"], environ, aws)

    assert code == 3
    assert json.loads(capsys.readouterr().out)["corrupt"] == 1


def test_a_missing_environment_variable_is_one_line_naming_it(aws, environ, capsys):
    del environ[env_names.INDEX_TABLE]

    code = main(["scan", "--job-id", "j", "--recovery-point-id", "rp-1"], environ, aws)

    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert f"{env_names.INDEX_TABLE} is not set" in err


def test_an_unknown_recovery_point_names_it_and_the_vault(aws, environ, capsys):
    code = main(
        ["restore", "--job-id", "j", "--recovery-point-id", "rp-nope", "--target", "snapshot"], environ, aws
    )

    assert code == 1
    assert "vault vault-a has no recovery point rp-nope" in capsys.readouterr().err


def test_a_bad_restore_target_says_which_targets_exist(aws, environ, backed_up, capsys):
    code = main(
        ["restore", "--job-id", "j", "--recovery-point-id", "rp-job-7", "--target", "disk"], environ, aws
    )

    assert code == 1
    assert "--target 'disk'" in capsys.readouterr().err


def test_a_bad_tuning_variable_names_its_value_and_default(aws, environ, capsys):
    environ[env_names.ENGINE_PACK_BYTES] = "lots"

    assert main(["compact", "--job-id", "j"], environ, aws) == 1
    assert f"{env_names.ENGINE_PACK_BYTES}='lots'" in capsys.readouterr().err


def test_the_registered_payload_is_what_the_catalog_accepts(backed_up):
    _, registered = backed_up
    command = parse_command(json.loads(json.dumps(command_envelope(registered[0]))))

    assert command.payload.recoveryPointId == "rp-job-7" and command.payload.snapshotId == SNAPSHOT


def test_compact_expires_what_the_catalog_marked_expired_and_forgets_those_points(
    aws, environ, vault, backed_up
):
    db = aws.client("dynamodb")
    db.create_table(
        TableName="elastio-recovery-points", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "assetId", "KeyType": "HASH"},
                   {"AttributeName": "recoveryPointId", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"}
                              for n in ("assetId", "recoveryPointId", "vaultName", "createdAt")],
        GlobalSecondaryIndexes=[{"IndexName": "byVault", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "vaultName", "KeyType": "HASH"},
                                               {"AttributeName": "createdAt", "KeyType": "RANGE"}]}],
    )  # fmt: skip
    db.put_item(TableName="elastio-recovery-points", Item={
        "assetId": {"S": "vol-1"}, "recoveryPointId": {"S": "rp-job-7"}, "vaultName": {"S": vault.name},
        "createdAt": {"S": "2026-01-01T00:00:00Z"}, "status": {"S": "expired"},
        "manifestKey": {"S": "manifests/vol-1/rp-job-7.manifest"}})  # fmt: skip
    environ[env_names.RECOVERY_POINTS_TABLE] = "elastio-recovery-points"

    assert main(["compact", "--job-id", "job-10"], environ, aws) == 0

    assert vault.manifest_keys() == []
    assert db.scan(TableName="elastio-recovery-points")["Items"] == []


def test_restore_to_an_availability_zone_creates_a_volume_from_a_new_snapshot(
    aws, environ, backed_up, capsys
):
    argv = ["restore", "--job-id", "job-11", "--recovery-point-id", "rp-job-7", "--target", "us-east-1a"]

    assert main(argv, environ, aws) == 0

    outcome = json.loads(capsys.readouterr().out)
    [volume] = aws.client("ec2").describe_volumes(VolumeIds=[outcome["volumeId"]])["Volumes"]
    assert volume["SnapshotId"] == outcome["snapshotId"] and volume["AvailabilityZone"] == "us-east-1a"


@pytest.mark.parametrize("job_type", ["backup", "restore", "scan", "compact"])
def test_the_command_the_vault_job_definitions_run_parses(job_type):
    command = job_command(job_type)
    assert command[:3] == ["python", "-m", "engine"]
    substituted = [arg.replace("Ref::", "value-") if arg.startswith("Ref::") else arg for arg in command[3:]]

    args = build_parser().parse_args(substituted)

    assert args.command == job_type and args.job_id == "value-jobId"


def test_rebuild_index_after_the_index_was_emptied_makes_the_point_restorable_again(
    aws, environ, vault, backed_up, tmp_path, capsys
):
    image, _ = backed_up
    entries = list(vault.index.scan())
    for key in vault.index.blob_keys():  # the index blobs were deleted (an operator's mistake, a lifecycle rule)
        vault.bucket.delete(key)
    stale = entries[0]
    vault.index.write_blob([type(stale)(b"\x02" * 32, "packs/gone.pack", 0, 10, 10)])  # points at nothing
    capsys.readouterr()

    assert main(["rebuild-index", "--job-id", "job-12"], environ, aws) == 0
    summary = json.loads(capsys.readouterr().out)
    target = tmp_path / "out.img"
    code = main(
        ["restore", "--job-id", "job-13", "--recovery-point-id", "rp-job-7", "--target", f"file:{target}"],
        environ,
        aws,
    )

    assert summary["entriesAdded"] == len(entries) and summary["entriesDropped"] == 1
    assert code == 0 and target.read_bytes() == image.read_bytes()


def test_a_job_records_its_aws_calls_and_bytes_for_the_cost_model(aws, backed_up):
    item = aws.client("dynamodb").get_item(TableName=JOBS_TABLE, Key={"jobId": {"S": "job-7"}})["Item"]
    operations = item["operations"]["M"]
    calls = {name: int(value["N"]) for name, value in operations["calls"]["M"].items()}

    assert calls["s3:PutObject"] >= 4  # config, packs, index blob, manifest, lease
    assert not any(name.startswith("dynamodb:Batch") for name in calls)  # no per-chunk index requests
    assert int(operations["bytesWritten"]["N"]) > 0
