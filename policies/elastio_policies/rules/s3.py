"""S3 buckets: SSE-KMS, versioning, public access block and a TLS-only bucket policy.

pulumi-aws v7 configures these in separate resources that name their bucket in the `bucket` input. In a
real preview the bucket's name is usually unknown, so the rules follow the property dependency of `bucket`
(a URN, always known) and only fall back to comparing names when there is no dependency (a literal name).
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import PolicyResource

from ..documents import FoundDocument, condition_values, documents_in, is_wildcard_principal, statements
from ..rule import DeferredUnknowns, Graph, setting_schema, stack_rule
from ..values import as_bool, as_list, dig, is_unknown

BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
ENCRYPTION_TYPES = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
VERSIONING_TYPES = (
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketVersioningV2:BucketVersioningV2",
)
PUBLIC_ACCESS_BLOCK_TYPES = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
POLICY_TYPES = ("aws:s3/bucketPolicy:BucketPolicy",)
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
PUBLIC_ACCESS_SETTINGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def companions(graph: Graph, bucket: PolicyResource, types: tuple[str, ...]) -> list[PolicyResource]:
    """The configuration resources of `types` that belong to `bucket`."""
    linked = graph.linked_from(bucket, types, "bucket")
    if linked:
        return linked
    name = graph.props(bucket).get("bucket")
    if not isinstance(name, str) or is_unknown(name):
        return []
    return [
        resource
        for resource in graph.of_type(*types)
        if not resource.property_dependencies.get("bucket") and graph.props(resource).get("bucket") == name
    ]


def _each_bucket(graph: Graph, judge) -> Iterator[tuple[str, str]]:
    deferred = DeferredUnknowns()
    for bucket in graph.of_type(*BUCKET_TYPES):
        for message in deferred.run(judge(graph, bucket)):
            yield bucket.urn, message
    deferred.raise_if_any()


# --- SSE-KMS -------------------------------------------------------------------------------------------

def _encryption_problems(graph: Graph, bucket: PolicyResource) -> Iterator[str]:
    require_key = as_bool(graph.config.get("requireCustomerManagedKey"))
    require_key = True if require_key is None else require_key
    defaults = [
        dig(rule, "applyServerSideEncryptionByDefault")
        for config in companions(graph, bucket, ENCRYPTION_TYPES)
        for rule in as_list(dig(graph.props(config), "rules"))
    ]
    # The deprecated inline form on the bucket itself still works in v7.
    inline = dig(
        graph.props(bucket), "serverSideEncryptionConfiguration", "rule", "applyServerSideEncryptionByDefault"
    )
    defaults = [default for default in [*defaults, inline] if isinstance(default, dict)]
    if not defaults:
        yield ("no default encryption: add an aws.s3.BucketServerSideEncryptionConfiguration with "
               "bucket=<this bucket> and sse_algorithm 'aws:kms'")
        return
    algorithms = [dig(default, "sseAlgorithm") for default in defaults]
    kms = [default for default in defaults if dig(default, "sseAlgorithm") in KMS_ALGORITHMS]
    if not kms:
        used = ", ".join(map(str, algorithms))
        yield f"default encryption is {used}, not SSE-KMS: set sse_algorithm 'aws:kms'"
    elif require_key and not any(dig(default, "kmsMasterKeyId") for default in kms):
        yield ("SSE-KMS uses the AWS-managed aws/s3 key: set kms_master_key_id to the vault's key "
               "(or set requireCustomerManagedKey: false)")


def check_bucket_encryption(graph: Graph) -> Iterator[tuple[str, str]]:
    yield from _each_bucket(graph, _encryption_problems)


# --- versioning ----------------------------------------------------------------------------------------

def _versioning_problems(graph: Graph, bucket: PolicyResource) -> Iterator[str]:
    statuses = [
        dig(graph.props(config), "versioningConfiguration", "status")
        for config in companions(graph, bucket, VERSIONING_TYPES)
    ]
    inline_enabled = as_bool(dig(graph.props(bucket), "versioning", "enabled"))
    if "Enabled" in statuses or inline_enabled:
        return
    if statuses:
        yield f"versioning status is {statuses[0]!r}: set versioning_configuration.status 'Enabled'"
    else:
        yield ("versioning is not configured: add an aws.s3.BucketVersioning with bucket=<this bucket> "
               "and status 'Enabled'")


def check_bucket_versioning(graph: Graph) -> Iterator[tuple[str, str]]:
    yield from _each_bucket(graph, _versioning_problems)


# --- public access block -------------------------------------------------------------------------------

def _public_access_problems(graph: Graph, bucket: PolicyResource) -> Iterator[str]:
    blocks = companions(graph, bucket, PUBLIC_ACCESS_BLOCK_TYPES)
    if not blocks:
        yield ("no public access block: add an aws.s3.BucketPublicAccessBlock with bucket=<this bucket> and "
               "all four settings true")
        return
    props = graph.props(blocks[0])
    off = [setting for setting in PUBLIC_ACCESS_SETTINGS if as_bool(dig(props, setting)) is not True]
    if off:
        yield f"public access block leaves {', '.join(off)} off: set them to true"


def check_bucket_public_access_block(graph: Graph) -> Iterator[tuple[str, str]]:
    yield from _each_bucket(graph, _public_access_problems)


# --- TLS only ------------------------------------------------------------------------------------------

def denies_insecure_transport(found: FoundDocument) -> bool:
    """A Deny for everyone on `aws:SecureTransport = false` covering s3 actions."""
    for statement in statements(found.document or {}):
        if statement.effect != "Deny" or not is_wildcard_principal(statement):
            continue
        covers_s3 = any(isinstance(a, str) and a.lower() in ("s3:*", "*") for a in statement.actions)
        secure_transport = condition_values(statement, "Bool", "aws:SecureTransport")
        if covers_s3 and any(str(value).lower() == "false" for value in secure_transport):
            return True
    return False


def _tls_problems(graph: Graph, bucket: PolicyResource) -> Iterator[str]:
    documents = [
        found
        for source in [bucket, *companions(graph, bucket, POLICY_TYPES)]
        for found in documents_in(source.resource_type, graph.props(source))
    ]
    if any(found.document is not None and denies_insecure_transport(found) for found in documents):
        return
    for found in documents:
        if found.error:
            yield f"bucket policy cannot be read: {found.error}"
    unknown = next((found.unknown for found in documents if found.unknown is not None), None)
    if unknown is not None:
        raise unknown
    if not any(found.error for found in documents):
        yield ("no TLS-only bucket policy: add a statement Deny, Principal '*', Action 's3:*', "
               "Condition Bool aws:SecureTransport 'false'")


def check_bucket_tls_only(graph: Graph) -> Iterator[tuple[str, str]]:
    yield from _each_bucket(graph, _tls_problems)


_CUSTOMER_KEY_SCHEMA = setting_schema(
    "requireCustomerManagedKey",
    True,
    "Require a customer-managed KMS key rather than the AWS-managed aws/s3 key.",
)

POLICIES = [
    stack_rule(
        "s3-bucket-sse-kms",
        "S3 buckets encrypt by default with SSE-KMS (a customer-managed key unless configured otherwise).",
        check_bucket_encryption,
        config_schema=_CUSTOMER_KEY_SCHEMA,
    ),
    stack_rule(
        "s3-bucket-versioning",
        "S3 buckets have versioning enabled, so an overwrite or delete can be undone.",
        check_bucket_versioning,
    ),
    stack_rule(
        "s3-bucket-public-access-block",
        "S3 buckets have a public access block with all four settings on.",
        check_bucket_public_access_block,
    ),
    stack_rule(
        "s3-bucket-tls-only",
        "S3 bucket policies deny every request that does not use TLS (aws:SecureTransport false).",
        check_bucket_tls_only,
    ),
]
