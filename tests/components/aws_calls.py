"""Which AWS API operations a package of our code calls, read from its source (no AWS, no imports of it).

An operation is any attribute named like a boto3 operation of the given services (`table.get_item(...)`,
a method passed on as `paginate(table.scan)`) or a paginator name (`get_paginator("describe_volumes")`).
Attributes of our own modules (`tenant.publish`) are not AWS calls and are skipped. botocore's service
models give the operation names, so a new call anywhere is found without a list to maintain.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path

import botocore.session
from botocore import xform_name

ROOT = Path(__file__).resolve().parents[2]

# Where the IAM action differs from "<service>:<Operation>" (Service Authorization Reference).
IAM_ACTION_OF = {
    ("lambda", "Invoke"): "lambda:InvokeFunction",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions: starting,
    # uploading parts of and completing a multipart upload need s3:PutObject (aborting has its own action).
    ("s3", "CreateMultipartUpload"): "s3:PutObject",
    ("s3", "UploadPart"): "s3:PutObject",
    ("s3", "CompleteMultipartUpload"): "s3:PutObject",
    # A transaction is authorised per action inside it; ours always Put an outbox item (lambdas/shared/outbox.py),
    # and their Updates are listed as UpdateItem by the functions that make them.
    # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html
    ("dynamodb", "TransactWriteItems"): "dynamodb:PutItem",
}


@cache
def _operations(services: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """snake_case name -> (service, OperationName); a name two services share must be resolved by hand."""
    session = botocore.session.get_session()
    found: dict[str, set[tuple[str, str]]] = {}
    for service in services:
        for operation in session.get_service_model(service).operation_names:
            found.setdefault(xform_name(operation), set()).add((service, operation))
    return {name: next(iter(pairs)) for name, pairs in found.items() if len(pairs) == 1} | {
        name: ("?", "/".join(sorted(s for s, _ in pairs))) for name, pairs in found.items() if len(pairs) > 1
    }


def iam_action(service: str, operation: str) -> str:
    if service == "?":
        raise AssertionError(f"{operation}: operation name shared by several services; resolve it by hand")
    return IAM_ACTION_OF.get((service, operation), f"{service}:{operation}")


def _own_module_names(tree: ast.Module, packages: tuple[str, ...]) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in packages:
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(
                (alias.asname or alias.name).split(".")[0]
                for alias in node.names
                if alias.name.split(".")[0] in packages
            )
    return names


def actions_in_source(source: str, services: Iterable[str], packages: tuple[str, ...]) -> set[str]:
    """IAM actions of the AWS operations one module's source calls."""
    operations = _operations(tuple(sorted(services)))
    tree = ast.parse(source)
    own = _own_module_names(tree, packages)
    actions: set[str] = set()
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Attribute) and node.attr in operations:
            receiver = node.value
            if not (isinstance(receiver, ast.Name) and receiver.id in own):
                name = node.attr
        if name:
            actions.add(iam_action(*operations[name]))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get_paginator"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            actions.add(iam_action(*operations[node.args[0].value]))
    return actions


def actions_in(paths: Iterable[Path], services: Iterable[str], packages: tuple[str, ...]) -> set[str]:
    services = tuple(services)
    return set().union(*(actions_in_source(p.read_text(), services, packages) for p in paths))


def allows(document: dict, action: str, resource: str) -> bool:
    """Whether an Allow statement names the action and a resource pattern matching the ARN (conditions aside)."""

    def as_list(value):
        return [value] if isinstance(value, str) else list(value)

    return any(
        action in as_list(s["Action"]) and any(fnmatchcase(resource, r) for r in as_list(s["Resource"]))
        for s in document["Statement"]
        if s["Effect"] == "Allow"
    )
