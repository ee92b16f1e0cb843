"""The account-level IAM documents: trust policies, the tenant and installer permissions, the default
permissions boundary and the six customer-attachable managed policies.

Every function is pure and returns a dict ready for `json.dumps`. Regional resources are addressed by their
fixed elastio-* names (src/elastio_pulumi/naming.py) where they have one, in this account and any region (`*`, see
ANY_REGION); kms:ViaService conditions still name the configured regions. Tag conditions
(`elastio:resource` = `true`) are used only where the service authorization reference lists
`aws:ResourceTag` (or `ec2:CreateAction`/`aws:RequestTag`) for that action: a condition key an action does not
support is absent from the request, so an Allow that needs it never matches and a Deny that needs it never
fires. Where tags are not supported (SQS send, S3 bucket deletion, DynamoDB tables) the ARN pattern scopes.
"""

# The names other code imports from elastio_pulumi.iam_documents; the documents live in the modules below.
from elastio_pulumi.iam_documents.boundary import default_permissions_boundary
from elastio_pulumi.iam_documents.builder import (
    ANY_REGION,
    COMMANDS_QUEUE,
    ECS_TASKS_SERVICE,
    MANAGED_POLICY_MAX_CHARS,
    REQUEST_TAGGED,
    TAGGED,
    TENANT_EVENTS_QUEUE,
    AccountScope,
    all_table_arns,
    document,
    in_account_s3,
    keys_via_ebs,
    mark_snapshots_readable,
    policy_arn,
    policy_size,
    queue_arns,
    split_document,
    statement,
    table_arns,
    vault_bucket_arns,
)
from elastio_pulumi.iam_documents.installer import installer_policies, installer_policy
from elastio_pulumi.iam_documents.people import managed_policies
from elastio_pulumi.iam_documents.tenant import tenant_access_policy
from elastio_pulumi.iam_documents.trust import installer_trust_policy, tenant_principal, tenant_trust_policy

__all__ = [
    "ANY_REGION",
    "COMMANDS_QUEUE",
    "ECS_TASKS_SERVICE",
    "MANAGED_POLICY_MAX_CHARS",
    "REQUEST_TAGGED",
    "TAGGED",
    "TENANT_EVENTS_QUEUE",
    "AccountScope",
    "all_table_arns",
    "default_permissions_boundary",
    "document",
    "in_account_s3",
    "installer_policies",
    "installer_policy",
    "installer_trust_policy",
    "keys_via_ebs",
    "managed_policies",
    "mark_snapshots_readable",
    "policy_arn",
    "policy_size",
    "queue_arns",
    "split_document",
    "statement",
    "table_arns",
    "tenant_access_policy",
    "tenant_principal",
    "tenant_trust_policy",
    "vault_bucket_arns",
]
