"""`python -m cost refresh-prices`: update the price table from the AWS Price List API (boto3 `pricing`).

Each mapped price is looked up per region with `GetProducts` filtered by service code, `regionCode` and its
usage type (`usagetype` CONTAINS the type without the region prefix, one of the API's filter types), so
a lookup reads a page or two instead of the whole EC2 catalogue; the match is then exact on the usage type
(region prefix stripped), and the lowest-range paid tier of its on-demand terms is taken. A refreshed region
records the SKU and the date as its source; prices without a mapping, or not found, keep their published
value and are listed. The run reports how many requests it made and how long it took.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import re
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cost.prices import DEFAULT_PATH, PriceTable

PRICE_LIST_ENDPOINT_REGION = "us-east-1"  # the Price List API answers in us-east-1 (and ap-south-1)
# Usage types start with a region code except in us-east-1: "USE2-TimedStorage-ByteHrs", "EU-Requests-Tier1".
_REGION_PREFIX = re.compile(r"^(?:[A-Z]{2,4}\d|EU)-")


@dataclass(frozen=True)
class Mapping_:
    service_code: str
    usage_type: str  # without the region prefix
    per: float = 1.0  # the table's unit in the Price List's units (1000 for "1k requests")


MAPPINGS: dict[str, Mapping_] = {
    "s3.standard.storage": Mapping_("AmazonS3", "TimedStorage-ByteHrs"),
    "s3.standard_ia.storage": Mapping_("AmazonS3", "TimedStorage-SIA-ByteHrs"),
    "s3.glacier_ir.storage": Mapping_("AmazonS3", "TimedStorage-GIR-ByteHrs"),
    "s3.put_requests": Mapping_("AmazonS3", "Requests-Tier1", 1000),
    "s3.get_requests": Mapping_("AmazonS3", "Requests-Tier2", 1000),
    "kms.key": Mapping_("awskms", "KMS-Keys"),
    "kms.requests": Mapping_("awskms", "KMS-Requests", 10_000),
    "dynamodb.write_request_units": Mapping_("AmazonDynamoDB", "WriteRequestUnits", 1e6),
    "dynamodb.read_request_units": Mapping_("AmazonDynamoDB", "ReadRequestUnits", 1e6),
    "dynamodb.storage": Mapping_("AmazonDynamoDB", "TimedStorage-ByteHrs"),
    "dynamodb.pitr": Mapping_("AmazonDynamoDB", "TimedPITRStorage-ByteHrs"),
    "sqs.requests": Mapping_("AWSQueueService", "Requests-RBP", 1e6),
    "lambda.requests": Mapping_("AWSLambda", "Request", 1e6),
    "lambda.duration": Mapping_("AWSLambda", "Lambda-GB-Second"),
    "fargate.vcpu": Mapping_("AmazonECS", "Fargate-vCPU-Hours:perCPU"),
    "fargate.memory": Mapping_("AmazonECS", "Fargate-GB-Hours"),
    "fargate_spot.vcpu": Mapping_("AmazonECS", "SpotUsage-Fargate-vCPU-Hours:perCPU"),
    "fargate_spot.memory": Mapping_("AmazonECS", "SpotUsage-Fargate-GB-Hours"),
    "fargate.ephemeral_storage": Mapping_("AmazonECS", "Fargate-EphemeralStorage-GB-Hours"),
    "cloudwatch.alarm": Mapping_("AmazonCloudWatch", "CW:AlarmMonitorUsage"),
    "logs.ingestion": Mapping_("AmazonCloudWatch", "DataProcessing-Bytes"),
    "logs.storage": Mapping_("AmazonCloudWatch", "TimedStorage-ByteHrs"),
    "vpce.interface.hours": Mapping_("AmazonVPC", "VpcEndpoint-Hours"),
    "vpce.interface.data": Mapping_("AmazonVPC", "VpcEndpoint-Bytes"),
    "vpc.nat_gateway.hours": Mapping_("AmazonEC2", "NatGateway-Hours"),
    "vpc.nat_gateway.data": Mapping_("AmazonEC2", "NatGateway-Bytes"),
    "vpc.public_ipv4.hours": Mapping_("AmazonVPC", "PublicIPv4:InUseAddress"),
    "ebs.snapshot.standard": Mapping_("AmazonEC2", "EBS:SnapshotUsage"),
    "ebs.snapshot.archive": Mapping_("AmazonEC2", "EBS:SnapshotArchiveStorage"),
    "ebs.snapshot.archive_retrieval": Mapping_("AmazonEC2", "EBS:SnapshotArchiveRetrieval"),
    "backup.ebs.warm": Mapping_("AWSBackup", "WarmStorage-ByteHrs-EBS"),
    "secretsmanager.secret": Mapping_("AWSSecretsManager", "AWSSecretsManager-Secrets"),
}


@dataclass(frozen=True)
class Found:
    usd: float
    sku: str


def paid_rate(product: Mapping[str, Any]) -> float | None:
    """The on-demand rate of the lowest usage tier that is not free (free tiers are priced at 0)."""
    dimensions = [
        dimension
        for term in (product.get("terms") or {}).get("OnDemand", {}).values()
        for dimension in term.get("priceDimensions", {}).values()
    ]
    paid = [d for d in dimensions if float(d.get("pricePerUnit", {}).get("USD", 0)) > 0]
    if not paid:
        return None
    lowest = min(paid, key=lambda d: float(d.get("beginRange", 0) or 0))
    return float(lowest["pricePerUnit"]["USD"])


def find_price(products: Iterable[str | Mapping[str, Any]], usage_type: str) -> Found | None:
    for item in products:
        product = json.loads(item) if isinstance(item, str) else item
        attributes = product.get("product", {}).get("attributes", {})
        if _REGION_PREFIX.sub("", attributes.get("usagetype", "")) != usage_type:
            continue
        rate = paid_rate(product)
        if rate is not None:
            return Found(rate, product.get("product", {}).get("sku", "?"))
    return None


def _products(client: Any, service_code: str, region: str, usage_type: str) -> tuple[list[str], int]:
    """The region's products of one usage type, and the number of GetProducts requests it took."""
    items: list[str] = []
    token, requests = None, 0
    while True:
        request: dict[str, Any] = {
            "ServiceCode": service_code,
            "Filters": [
                {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
                # Usage types carry a region prefix outside us-east-1 ("EUC1-NatGateway-Bytes"): match the rest.
                {"Type": "CONTAINS", "Field": "usagetype", "Value": usage_type},
            ],
            "FormatVersion": "aws_v1",
            "MaxResults": 100,
        }
        if token:
            request["NextToken"] = token
        page = client.get_products(**request)
        requests += 1
        items += page.get("PriceList", [])
        token = page.get("NextToken")
        if not token:
            return items, requests


@dataclass
class Lookups:
    """What a refresh asked the Price List API: reported with the time it took."""

    requests: int = 0
    prices: int = 0


def refresh(
    document: dict[str, Any],
    client: Any,
    regions: Iterable[str],
    keys: Iterable[str] | None = None,
    today: dt.date | None = None,
    lookups: Lookups | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """A copy of the price table `document` with every mapped price looked up, and a report line per change
    or miss. `client` is a boto3 `pricing` client; `lookups` counts the requests made."""
    today_text = (today or dt.date.today()).isoformat()
    updated = copy.deepcopy(document)
    report: list[str] = []
    lookups = lookups if lookups is not None else Lookups()
    wanted = list(keys or updated["prices"])
    for key in wanted:
        mapping = MAPPINGS.get(key)
        if mapping is None:
            report.append(f"{key}: no Price List mapping; kept the published value")
            continue
        entry = updated["prices"][key]
        for region in regions:
            products, requests = _products(client, mapping.service_code, region, mapping.usage_type)
            lookups.requests += requests
            lookups.prices += 1
            found = find_price(products, mapping.usage_type)
            if found is None:
                report.append(f"{key} {region}: not found in the Price List; kept {entry['usd'][region]}")
                continue
            value = round(found.usd * mapping.per, 10)
            if value != entry["usd"][region]:
                report.append(f"{key} {region}: {entry['usd'][region]} -> {value}")
            entry["usd"][region] = value
            entry.setdefault("regional_sources", {})[region] = {
                "source": f"AWS Price List API {mapping.service_code} sku {found.sku}",
                "date": today_text,
            }
    return updated, report


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cost refresh-prices", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--prices", type=Path, default=DEFAULT_PATH, help="price table to update")
    parser.add_argument("--regions", nargs="+", help="regions to refresh (default: all in the table)")
    parser.add_argument("--dry-run", action="store_true", help="print the changes without writing the table")
    args = parser.parse_args(argv)
    try:
        table = PriceTable.load(args.prices)
        regions = [table.check_region(r, "--regions") for r in (args.regions or table.regions)]
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    lookups, started = Lookups(), time.monotonic()
    try:
        client = boto3.client("pricing", region_name=PRICE_LIST_ENDPOINT_REGION)
        updated, report = refresh(table.document, client, regions, lookups=lookups)
    except NoCredentialsError:
        print(
            "error: refresh-prices needs AWS credentials allowed pricing:GetProducts "
            "(set AWS_PROFILE or the AWS_* variables)",
            file=sys.stderr,
        )
        return 2
    except ClientError as err:
        print(
            f"error: the Price List API refused: {err.response['Error'].get('Message', err)}", file=sys.stderr
        )
        return 2
    except BotoCoreError as err:
        print(f"error: cannot reach the Price List API: {err}", file=sys.stderr)
        return 2
    print("\n".join(report) or "no changes")
    print(
        f"looked up {lookups.prices} prices in {lookups.requests} Price List requests, "
        f"{time.monotonic() - started:.1f} s"
    )
    if not args.dry_run:
        args.prices.write_text(json.dumps(updated, indent=1) + "\n")
        print(f"wrote {args.prices}")
    return 0
