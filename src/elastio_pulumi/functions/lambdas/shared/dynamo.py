"""Small DynamoDB helpers shared by the services."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError


def is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def paginate(operation: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Yield every item of a Table.query/scan, following LastEvaluatedKey."""
    while True:
        page = operation(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
