"""Which planned changes would make the provider replace a resource (delete and re-create it).

The mocks accept any change; the provider decides per input whether a change is an in-place update or a
replacement. This table lists the replace-on-change inputs of the resource types whose replacement hurts a
customer (data-bearing resources, and IAM policies customers attach to their own principals), each with the
source of the rule. `replacements(base, new)` compares two planned graphs as `pulumi preview` would: same URN,
an input in the table changed, and the input not in the resource's `ignore_changes`; `vanished(base, new)`
lists the data-bearing resources of `base` that `new` no longer plans under the same URN.
"""

from __future__ import annotations

from typing import Any

# type token -> (replace-on-change inputs, source). The provider marks these ForceNew: a change deletes the
# resource and creates another (for a retained one: forgets it, then fails to create a second by that name).
REPLACE_ON_CHANGE: dict[str, tuple[tuple[str, ...], str]] = {
    "aws:iam/policy:Policy": (
        ("name", "namePrefix", "path", "description"),
        "terraform-provider-aws aws_iam_policy: name, name_prefix, path and description 'Forces new resource' "
        "(IAM has no API to change them)",
    ),
    "aws:s3/bucket:Bucket": (
        ("bucket", "bucketPrefix", "objectLockEnabled"),
        "terraform-provider-aws internal/service/s3/bucket.go: bucket, bucket_prefix and object_lock_enabled are "
        "ForceNew (S3 cannot rename a bucket; Object Lock is set at CreateBucket or turned on by the lock "
        "configuration)",
    ),
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": (
        ("bucket", "expectedBucketOwner", "objectLockEnabled"),
        "terraform-provider-aws internal/service/s3/bucket_object_lock_configuration.go: bucket, "
        "expected_bucket_owner and object_lock_enabled are ForceNew",
    ),
    "aws:dynamodb/table:Table": (
        ("name", "hashKey", "rangeKey", "localSecondaryIndexes", "restoreSourceName", "restoreDateTime"),
        "terraform-provider-aws internal/service/dynamodb/table.go: name, hash_key, range_key, "
        "local_secondary_index and the restore_* inputs are ForceNew (DynamoDB cannot change a key schema)",
    ),
    "aws:kms/key:Key": (
        ("customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId"),
        "terraform-provider-aws internal/service/kms/key.go: customer_master_key_spec, key_usage, multi_region, "
        "custom_key_store_id and xks_key_id are ForceNew (a key's spec and usage are fixed at CreateKey)",
    ),
    "aws:kms/alias:Alias": (
        ("name", "namePrefix"),
        "terraform-provider-aws internal/service/kms/alias.go: name and name_prefix are ForceNew",
    ),
    "aws:sqs/queue:Queue": (
        ("name", "namePrefix", "fifoQueue"),
        "terraform-provider-aws internal/service/sqs/queue.go: name, name_prefix and fifo_queue are ForceNew "
        "(a queue cannot be renamed or change type; its messages go with it)",
    ),
}
# Resources whose replacement loses or strands data: they must also keep their URN (a new URN is a delete
# and a create, whatever the inputs).
DATA_BEARING: frozenset[str] = frozenset(
    {"aws:s3/bucket:Bucket", "aws:dynamodb/table:Table", "aws:kms/key:Key", "aws:sqs/queue:Queue"}
)


def replacements(base: Any, new: Any) -> list[tuple[str, str, Any, Any]]:
    """(urn, input, old value, new value) for every change in `new` that replaces a resource of `base`."""
    before = {r.urn: r for r in base.resources}
    found = []
    for resource in new.resources:
        old = before.get(resource.urn)
        rule = REPLACE_ON_CHANGE.get(resource.type)
        if old is None or rule is None:
            continue
        for key in rule[0]:
            if key in resource.ignore_changes:
                continue
            if old.inputs.get(key) != resource.inputs.get(key):
                found.append((resource.urn, key, old.inputs.get(key), resource.inputs.get(key)))
    return found


def vanished(base: Any, new: Any) -> list[str]:
    """URNs of data-bearing resources planned in `base` and missing from `new` (deleted, renamed or reparented)."""
    planned = {r.urn for r in new.resources}
    return [r.urn for r in base.resources if r.type in DATA_BEARING and r.urn not in planned]
