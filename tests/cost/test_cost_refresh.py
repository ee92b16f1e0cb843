"""refresh-prices against recorded Price List API response shapes (moto lacks the pricing API: Stubber)."""

import datetime as dt
import json
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from cost.prices import DEFAULT_PATH, PriceTable
from cost.refresh import MAPPINGS, Lookups, find_price, paid_rate, refresh


def product(service, usage_type, sku, tiers):
    """One PriceList entry as GetProducts returns it: a JSON string (FormatVersion aws_v1)."""
    dimensions = {
        f"{sku}.JRTCKXETXF.{i}": {
            "unit": "GB-Mo",
            "beginRange": begin,
            "endRange": end,
            "description": "recorded",
            "appliesTo": [],
            "rateCode": f"{sku}.JRTCKXETXF.{i}",
            "pricePerUnit": {"USD": usd},
        }
        for i, (begin, end, usd) in enumerate(tiers)
    }
    return json.dumps(
        {
            "product": {
                "productFamily": "Storage",
                "sku": sku,
                "attributes": {"usagetype": usage_type, "regionCode": "eu-west-1", "servicecode": service},
            },
            "serviceCode": service,
            "terms": {
                "OnDemand": {
                    f"{sku}.JRTCKXETXF": {
                        "priceDimensions": dimensions,
                        "sku": sku,
                        "effectiveDate": "2026-11-01T00:00:00Z",
                        "offerTermCode": "JRTCKXETXF",
                        "termAttributes": {},
                    }
                }
            },
            "version": "20261101000000",
            "publicationDate": "2026-11-01T00:00:00Z",
        }
    )


def request(service, usage_type, token=None):
    """What refresh asks: one service's products of one usage type in eu-west-1, not the whole catalogue."""
    params = {
        "ServiceCode": service,
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
        "Filters": [
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "eu-west-1"},
            {"Type": "CONTAINS", "Field": "usagetype", "Value": usage_type},
        ],
    }
    if token:
        params["NextToken"] = token
    return params


@pytest.fixture
def client():
    return boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def test_refresh_takes_the_paid_tier_pages_through_and_records_the_sku(client):
    document = json.loads(DEFAULT_PATH.read_text())
    with Stubber(client) as stub:
        stub.add_response(
            "get_products",
            {
                "FormatVersion": "aws_v1",
                "NextToken": "page2",
                "PriceList": [
                    product("AmazonS3", "EU-TimedStorage-GlacierByteHrs", "GL1", [("0", "Inf", "0.0036")]),
                ],
            },
            request("AmazonS3", "TimedStorage-ByteHrs"),
        )
        stub.add_response(
            "get_products",
            {
                "FormatVersion": "aws_v1",
                "PriceList": [
                    product(
                        "AmazonS3",
                        "EU-TimedStorage-ByteHrs",
                        "STD1",
                        [("0", "51200", "0.0240000000"), ("51200", "512000", "0.0230000000")],
                    ),
                ],
            },
            request("AmazonS3", "TimedStorage-ByteHrs", "page2"),
        )
        stub.add_response(
            "get_products",
            {
                "FormatVersion": "aws_v1",
                "PriceList": [product("AmazonS3", "EU-Requests-Tier1", "PUT1", [("0", "Inf", "0.0000055000")])],
            },
            request("AmazonS3", "Requests-Tier1"),
        )
        stub.add_response(
            "get_products",
            {
                "FormatVersion": "aws_v1",
                "PriceList": [
                    product(
                        "AWSQueueService",
                        "EU-Requests-RBP",
                        "SQS1",
                        [("0", "1000000", "0.0000000000"), ("1000000", "100000000000", "0.0000004500")],
                    ),
                ],
            },
            request("AWSQueueService", "Requests-RBP"),
        )
        lookups = Lookups()
        updated, report = refresh(
            document,
            client,
            ["eu-west-1"],
            keys=["s3.standard.storage", "s3.put_requests", "sqs.requests"],
            today=dt.date(2027, 1, 5),
            lookups=lookups,
        )
        stub.assert_no_pending_responses()
    table = PriceTable(updated)
    assert table.usd("s3.standard.storage", "eu-west-1") == 0.024  # first 50 TB tier
    assert table.usd("s3.put_requests", "eu-west-1") == pytest.approx(0.0055)  # per 1,000
    assert table.usd("sqs.requests", "eu-west-1") == pytest.approx(0.45)  # first paid tier, per million
    price = table.price("sqs.requests", "eu-west-1")
    assert (price.source, price.date) == ("AWS Price List API AWSQueueService sku SQS1", "2027-01-05")
    assert table.price("sqs.requests", "us-east-1").source.startswith("https://")  # untouched region
    assert "s3.standard.storage eu-west-1: 0.023 -> 0.024" in report
    assert document["prices"]["s3.standard.storage"]["usd"]["eu-west-1"] == 0.023  # input left as it was
    assert (lookups.prices, lookups.requests) == (3, 4)


FIXTURE = Path(__file__).with_name("fixtures") / "price_list_responses.json"


def recorded() -> list[dict]:
    return json.loads(FIXTURE.read_text())["responses"]


@pytest.mark.parametrize(
    "entry", recorded(), ids=lambda e: f"{e['price_key']}-{e['request']['Filters'][0]['Value']}"
)
def test_prices_json_agrees_with_the_price_list_responses(client, entry):
    """Each recorded GetProducts response (see the fixture's provenance and date), run through the refresh
    parser, gives the value prices.json holds: the table is checked against the Price List's numbers."""
    document = json.loads(DEFAULT_PATH.read_text())
    region = entry["request"]["Filters"][0]["Value"]
    with Stubber(client) as stub:  # Stubber also checks the response against the API's own shape
        stub.add_response("get_products", entry["response"], entry["request"])
        updated, report = refresh(document, client, [region], keys=[entry["price_key"]])
        stub.assert_no_pending_responses()
    assert report == []  # found, and no change
    assert PriceTable(updated).usd(entry["price_key"], region) == document["prices"][entry["price_key"]]["usd"][region]
    assert updated["prices"][entry["price_key"]]["regional_sources"][region]["source"].startswith("AWS Price List API")


def test_the_fixture_says_when_and_how_it_was_made():
    document = json.loads(FIXTURE.read_text())
    assert dt.date.fromisoformat(document["recorded"])
    assert "NOT captured from a live call" in document["provenance"]


def test_the_refresh_reports_its_requests_and_time(capsys, monkeypatch, tmp_path):
    import boto3 as boto3_module

    from cost.cli import main

    class FromFixture:
        def get_products(self, **request):
            for entry in recorded():
                if entry["request"] == request:
                    return entry["response"]
            return {"FormatVersion": "aws_v1", "PriceList": []}

    monkeypatch.setattr(boto3_module, "client", lambda *a, **k: FromFixture())
    table = tmp_path / "prices.json"
    table.write_text(DEFAULT_PATH.read_text())
    assert main(["refresh-prices", "--prices", str(table), "--regions", "eu-west-2", "--dry-run"]) == 0
    out = capsys.readouterr().out
    mapped = len(MAPPINGS)
    assert f"looked up {mapped} prices in {mapped} Price List requests, " in out and out.rstrip().endswith(" s")


def test_price_missing_from_the_price_list_is_kept_and_reported(client):
    document = json.loads(DEFAULT_PATH.read_text())
    with Stubber(client) as stub:
        stub.add_response(
            "get_products", {"FormatVersion": "aws_v1", "PriceList": []}, request("awskms", "KMS-Keys")
        )
        updated, report = refresh(document, client, ["eu-west-1"], keys=["kms.key", "ebs.direct.get_block"])
    assert updated["prices"]["kms.key"]["usd"]["eu-west-1"] == 1.0
    assert report == [
        "kms.key eu-west-1: not found in the Price List; kept 1.0",
        "ebs.direct.get_block: no Price List mapping; kept the published value",
    ]


def test_paid_rate_skips_free_tiers_and_takes_the_lowest_paid_range():
    entry = json.loads(product("AWSLambda", "Request", "L", [("0", "1", "0"), ("1", "Inf", "0.0000002")]))
    assert paid_rate(entry) == 0.0000002


def test_usage_type_matches_with_or_without_a_region_prefix():
    us_east_1 = product("AmazonECS", "Fargate-vCPU-Hours:perCPU", "A", [("0", "Inf", "0.04048")])
    eu_west_2 = product("AmazonECS", "EUW2-Fargate-vCPU-Hours:perCPU", "B", [("0", "Inf", "0.04656")])
    assert find_price([us_east_1], "Fargate-vCPU-Hours:perCPU").sku == "A"
    assert find_price([eu_west_2], "Fargate-vCPU-Hours:perCPU").sku == "B"
    assert find_price([eu_west_2], "Fargate-GB-Hours") is None


def test_cli_without_credentials_says_what_it_needs(capsys, monkeypatch, tmp_path):
    from cost.cli import main

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    table = tmp_path / "prices.json"
    table.write_text(DEFAULT_PATH.read_text())
    code = main(["refresh-prices", "--prices", str(table), "--regions", "eu-west-1"])
    assert code == 2
    assert "needs AWS credentials" in capsys.readouterr().err
    assert table.read_text() == DEFAULT_PATH.read_text()


def test_cli_refuses_an_unknown_region(capsys):
    from cost.cli import main

    assert main(["refresh-prices", "--regions", "mars-1"]) == 2
    assert "--regions: 'mars-1' is not a priced region" in capsys.readouterr().err
