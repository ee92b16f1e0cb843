import os

import boto3
import pytest
from engine_world import JOBS_TABLE, REGION, SMALL, Registered, create_vault, volume_bytes
from moto import mock_aws

from elastio_contract import environment as env_names
from engine.jobs import JobRecord


@pytest.fixture
def aws():
    os.environ.update(AWS_DEFAULT_REGION=REGION, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        session.client("dynamodb").create_table(
            TableName=JOBS_TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "jobId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "jobId", "AttributeType": "S"}],
        )
        yield session


@pytest.fixture
def vault(aws):
    return create_vault(aws, "vault-a")


@pytest.fixture
def environ(vault):
    """The engine job's environment for `vault`, as its Batch job definition sets it."""
    return {
        env_names.VAULT_NAME: vault.name,
        env_names.VAULT_BUCKET: vault.bucket.bucket,
        env_names.VAULT_KMS_KEY_ARN: vault.key.key_arn,
        env_names.INDEX_TABLE: vault.index.table_name,
        env_names.JOBS_TABLE: JOBS_TABLE,
        env_names.CATALOG_FUNCTION: "elastio-catalog",
        env_names.ENGINE_PACK_BYTES: str(256 * 1024),
    }


@pytest.fixture
def job(aws):
    return JobRecord(aws.client("dynamodb"), JOBS_TABLE, "job-1", interval_seconds=0)


@pytest.fixture
def registered():
    return Registered()


@pytest.fixture
def image(tmp_path):
    """A small volume image (12 segments of the SMALL settings)."""
    path = tmp_path / "vol.img"
    path.write_bytes(volume_bytes(12 * SMALL.segment_bytes, seed=7))
    return path
