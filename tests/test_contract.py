"""The contract package (src/elastio_contract) is what the functions and the engine import next to the
components: it must load where neither pulumi nor pydantic nor boto3 is installed, and hold its records to the
contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from elastio_contract.vault_record import VaultRecord, VaultRecordError

SRC = Path(__file__).resolve().parent.parent / "src"


def test_the_contract_imports_with_the_standard_library_alone():
    # -I: no site-packages, no PYTHONPATH; only src/ (as in the engine image and the code zip).
    script = (
        f"import sys; sys.path.insert(0, {str(SRC)!r}); "
        "import elastio_contract, elastio_contract.vault_record; "
        "loaded = sorted(m for m in ('pulumi', 'pydantic', 'boto3', 'elastio_pulumi') if m in sys.modules); "
        "assert not loaded, loaded"
    )
    result = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


ITEM = {
    "vaultName": "primary", "region": "eu-west-1", "bucketName": "b", "kmsKeyArn": "k", "indexTableName": "i",
    "jobQueueArn": "q", "jobDefinitions": {"backup": "arn:b"}, "clusterArn": "c", "serverTaskDefinitionArn": "t",
    "subnetIds": ["subnet-1"], "securityGroupId": "sg-1", "assignPublicIp": True,
}


def test_a_record_round_trips_through_the_item_the_component_writes():
    from boto3.dynamodb.types import TypeDeserializer

    record = VaultRecord.from_item({**ITEM, "addedLater": "ignored"})
    written = {k: TypeDeserializer().deserialize(v) for k, v in record.to_dynamodb().items()}
    assert VaultRecord.from_item(written) == record


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"bucketName": None}, "bucketName"),
        ({"subnetIds": "subnet-1"}, "subnetIds"),
        ({"jobDefinitions": {"backup": 3}}, "jobDefinitions"),
        ({"assignPublicIp": "true"}, "assignPublicIp"),
    ],
)
def test_a_mistyped_record_is_refused_naming_the_attribute(change, named):
    with pytest.raises(VaultRecordError, match=named):
        VaultRecord.from_item({**ITEM, **change})


def test_a_record_without_the_optional_public_ip_flag_reads_as_private():
    item = dict(ITEM)
    del item["assignPublicIp"]
    assert VaultRecord.from_item(item).assignPublicIp is False


def test_the_outbox_refuses_an_event_type_the_contract_does_not_list():
    from lambdas.shared import outbox

    with pytest.raises(ValueError, match="EVENT_TYPES"):
        outbox.event("job.finished", {}, None, "key")


def test_the_engine_runs_from_the_image_layout_with_the_contract_beside_it(tmp_path):
    # engine/Dockerfile: /opt/elastio holds engine/ and elastio_contract/ and is PYTHONPATH; nothing else of ours.
    import os
    import shutil

    root = SRC.parent
    image = tmp_path / "opt" / "elastio"
    shutil.copytree(root / "engine", image / "engine", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(SRC / "elastio_contract", image / "elastio_contract", ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(image)}
    result = subprocess.run(
        [
            sys.executable, "-c",
            "import engine.config, engine.vaultconfig, elastio_contract; print(elastio_contract.__file__)",
        ],
        cwd=image, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(image)


def test_the_engine_runs_from_a_checkout():
    import os

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-m", "engine", "--help"], cwd=SRC.parent, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
