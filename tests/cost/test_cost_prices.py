import json

import pytest

from cost.errors import CostInputError
from cost.prices import DEFAULT_PATH, PriceTable, default_table
from elastio_pulumi.constants import SUPPORTED_REGIONS

# What the issue asks the table to price, by family.
REQUIRED_KEYS = {
    "s3.standard.storage",
    "s3.put_requests",
    "s3.get_requests",
    "kms.key",
    "kms.requests",
    "dynamodb.write_request_units",
    "dynamodb.read_request_units",
    "dynamodb.storage",
    "dynamodb.pitr",
    "sqs.requests",
    "lambda.requests",
    "lambda.duration",
    "eventbridge.custom_events",
    "fargate.vcpu",
    "fargate.memory",
    "fargate_spot.vcpu",
    "fargate_spot.memory",
    "cloudwatch.alarm",
    "logs.ingestion",
    "logs.storage",
    "vpce.interface.hours",
    "transfer.internet_out",
    "ebs.snapshot.standard",
    "ebs.snapshot.archive",
    "backup.ebs.warm",
    "backup.ebs.restore",
}


def test_table_prices_exactly_the_supported_regions():
    assert default_table().regions == SUPPORTED_REGIONS


def test_table_has_every_price_the_model_needs():
    assert REQUIRED_KEYS <= set(default_table().keys)


@pytest.mark.parametrize("key", sorted(json.loads(DEFAULT_PATH.read_text())["prices"]))
def test_every_price_has_a_unit_source_date_and_a_value_per_region(key):
    table = default_table()
    for region in table.regions:
        price = table.price(key, region)
        assert price.unit and price.source.startswith("https://") and price.date[:2] == "20"
        assert price.usd >= 0


def test_regional_differences_are_kept():
    table = default_table()
    assert table.usd("s3.standard.storage", "us-west-1") > table.usd("s3.standard.storage", "us-east-1")
    assert table.usd("fargate.vcpu", "ap-southeast-2") > table.usd("fargate.vcpu", "us-east-1")


def test_free_tier_allowances_refer_to_priced_keys():
    table = default_table()
    assert set(table.free_tier) <= set(table.keys)


def test_unknown_region_names_the_region_and_the_choices():
    with pytest.raises(CostInputError, match="'mars-1' is not a priced region; use one of: us-east-1"):
        default_table().price("kms.key", "mars-1")


def test_regional_source_of_a_refreshed_price_wins_over_the_page():
    document = json.loads(DEFAULT_PATH.read_text())
    document["prices"]["kms.key"]["regional_sources"] = {
        "eu-west-1": {"source": "sku X", "date": "2027-01-02"}
    }
    table = PriceTable(document)
    assert table.price("kms.key", "eu-west-1").source == "sku X"
    assert table.price("kms.key", "us-east-1").source.startswith("https://")


def test_missing_price_file_is_a_named_error(tmp_path):
    with pytest.raises(CostInputError, match="does not exist"):
        PriceTable.load(tmp_path / "nope.json")
