"""The negative table: escalation paths and data-loss paths that AWS must deny, whatever the boundary.

Issue 11 lists the paths found by trying them; the rest are the obvious next tries of someone holding the
installer role (the role a CI system or the tenant runs `pulumi up` with) or code running as a connector or
vault role. Each row names what an attacker would get if it were allowed.
"""

from __future__ import annotations

from collections.abc import Iterator

from elastio_pulumi import naming
from elastio_pulumi.constants import LOCAL_BACKUP_TAG_KEY
from engine.vaultconfig import secret_context
from tests.iam.allowed_requests import ADMINISTRATOR, ECS_TASKS, LAMBDA, Row, bucket_name, encryption_context_keys
from tests.iam.evaluator import Decision, Principal, decide
from tests.iam.stack import StackIam
from tests.parliament_known import (
    ECR_TOKEN_SCOPED_BY_ROLE,
    INSTALLER_CODE_RUNS_BOUNDED,
    INSTALLER_MANAGES_ONLY_ITS_OWN,
    KMS_GRANTS_ONLY_FOR_AWS_RESOURCES,
    PASS_ROLE_ONLY_TO_ITS_SERVICE,
    SPLIT_STATEMENTS,
)

ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"


def installer_rows(stack: StackIam) -> Iterator[Row]:
    iam = stack.plan.config.iam.naming(stack.plan.config.name_prefix)
    installer = stack.role(naming.installer_role_name(iam))
    boundary = stack.boundary_arn
    account = stack.account
    tenant = stack.plan.outputs["tenantRoleArn"]
    installer_arn = installer.role_arn
    region = stack.regions[0]
    scope = stack.connector_scope(region)
    function_role = stack.function_role(region, "catalog").role_arn
    vault = scope.vaults[0]
    with_boundary = {"iam:PermissionsBoundary": boundary}

    def row(action, resource, keys=None, why="", policy=None, confirms=INSTALLER_MANAGES_ONLY_ITS_OWN):
        return Row("installer", installer, stack.request(action, resource, keys), why, confirms), policy

    # Roles: whoever can rewrite a trust policy, add a policy or lift a boundary owns the role.
    for role in (tenant, function_role, vault.task_role_arn):
        yield row("iam:UpdateAssumeRolePolicy", role, with_boundary, "trust itself to assume the role")
        yield row(
            "iam:AttachRolePolicy",
            role,
            with_boundary | {"iam:PolicyARN": ADMINISTRATOR_ACCESS},
            "attach AdministratorAccess (the program uses inline policies only)",
        )
        yield row("iam:DeleteRolePermissionsBoundary", role, with_boundary, "lift the boundary")
        yield row(
            "iam:PutRolePermissionsBoundary",
            role,
            {"iam:PermissionsBoundary": ADMINISTRATOR_ACCESS},
            "swap the boundary for AdministratorAccess",
        )
    yield row(
        "iam:PutRolePermissionsBoundary",
        tenant,
        with_boundary,
        "step 1 of 2: put the boundary on ElastioTenant so the boundary-conditioned grants apply to it",
    )
    yield row("iam:PutRolePolicy", tenant, with_boundary, "step 2 of 2: write any inline policy on ElastioTenant")
    yield row("iam:PutRolePolicy", tenant, {}, "write any inline policy on ElastioTenant")
    for action in (
        "iam:AttachRolePolicy",
        "iam:PutRolePolicy",
        "iam:UpdateAssumeRolePolicy",
        "iam:DeleteRolePermissionsBoundary",
    ):
        yield row(action, installer_arn, {"iam:PolicyARN": ADMINISTRATOR_ACCESS}, "widen its own role")

    # Creating roles: only the program's names, always with the boundary.
    elastio_name = naming.iam_arn(account, f"role/{naming.function_role_name(iam, 'catalog', region)}")
    yield row("iam:CreateRole", elastio_name, {}, "a role named like the program's, without a boundary")
    yield row(
        "iam:CreateRole",
        elastio_name,
        {"iam:PermissionsBoundary": ADMINISTRATOR_ACCESS},
        "a role named like the program's, with a boundary that caps nothing",
    )
    for name in (iam.name("ElastioBreakout"), iam.name("ElastioVault"), "Admin"):
        yield row(
            "iam:CreateRole",
            naming.iam_arn(account, f"role/{name}"),
            with_boundary,
            "a role outside the program's name patterns",
        )

    # Passing roles: only function roles to Lambda, vault roles to ECS tasks and Batch.
    yield row(
        "iam:PassRole",
        vault.task_role_arn,
        {"iam:PassedToService": LAMBDA},
        "run its own code as the vault task role (all of the vault's data)",
    )
    yield row(
        "iam:PassRole",
        vault.task_role_arn,
        {"iam:PassedToService": "ec2.amazonaws.com"},
        "an instance profile with the vault task role",
    )
    yield row("iam:PassRole", function_role, {"iam:PassedToService": ECS_TASKS}, "a task running as a function role")
    for role in (installer_arn, tenant):
        yield row("iam:PassRole", role, {"iam:PassedToService": LAMBDA}, "a function running as an account role")
    yield row(
        "iam:CreateServiceLinkedRole",
        naming.iam_arn(account, "role/aws-service-role/*"),
        {"iam:AWSServiceName": "elasticbeanstalk.amazonaws.com"},
        "a service-linked role of another service",
    )

    # Policies: the people policies, the boundary and its own.
    for base, arn in stack.plan.outputs["managedPolicyArns"].items():
        yield row("iam:CreatePolicyVersion", arn, {}, f"rewrite {base}, which people in the account hold")
    for action in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy"):
        yield row(action, boundary, {}, "rewrite or delete the boundary")
    own = naming.iam_arn(account, f"policy/{naming.installer_policy_name(iam, 1)}")
    yield row("iam:CreatePolicyVersion", own, {}, "rewrite its own permissions")

    # Keys.
    for key in (vault.key_arn, scope.key_arn):
        yield row(
            "kms:PutKeyPolicy",
            key,
            {"kms:BypassPolicyLockoutSafetyCheck": "true"},
            "a key policy that locks out the account",
        )
        yield row("kms:ScheduleKeyDeletion", key, {}, "destroy every backup encrypted with it")
        yield row("kms:DisableKey", key, {}, "make every backup unreadable")
        yield row("kms:UntagResource", key, {"aws:TagKeys": ("elastio:resource",)}, "untag it out of the denies")

    # Vault buckets: weakening them after creation is the operator's run, not the installer's.
    bucket = vault.bucket_arn
    for action, why in (
        ("s3:DeleteBucketPolicy", "drop the data protections"),
        ("s3:PutBucketVersioning", "suspend versioning"),
        ("s3:PutBucketObjectLockConfiguration", "change object lock"),
        ("s3:PutEncryptionConfiguration", "change encryption"),
        ("s3:PutBucketPublicAccessBlock", "open the bucket"),
        ("s3:PutLifecycleConfiguration", "an expiration rule that deletes every object"),
        ("s3:PutBucketOwnershipControls", "hand object ownership to writers (ACLs back on)"),
        ("s3:DeleteBucket", "delete the bucket"),
    ):
        yield row(action, bucket, {}, why)
    pack = f"{bucket}/packs/0001.pack"
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        yield row(action, pack, {}, "read or destroy backup data")
    everyone = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "RewrittenByTheInstaller",
                "Effect": "Allow",
                "Principal": {"AWS": [installer_arn, installer.session_arn]},
                "Action": "s3:*",
                "Resource": f"{bucket}/*",
            }
        ],
    }
    yield row(
        "s3:GetObject",
        pack,
        {},
        "read backup data after rewriting the bucket policy (s3:PutBucketPolicy)",
        policy=everyone,
    )
    # Functions run bounded: the installer may deploy code, not run it with more than the boundary allows.
    outside = naming.arn("lambda", region, account, "function:customer-function")
    yield row(
        "lambda:UpdateFunctionCode",
        outside,
        {},
        "change a function that is not Elastio's",
        confirms=INSTALLER_CODE_RUNS_BOUNDED,
    )
    yield row(
        "lambda:CreateFunction",
        outside,
        {},
        "create a function outside the elastio- names",
        confirms=INSTALLER_CODE_RUNS_BOUNDED,
    )

    # Tables: a TTL on the index's epoch would empty the dedup index; PITR off loses the restore window.
    for table in (vault.index_table_arn, scope.table_arn("recovery-points"), scope.table_arn("jobs")):
        for action, why in (
            ("dynamodb:UpdateTimeToLive", "a TTL that deletes items"),
            ("dynamodb:UpdateContinuousBackups", "turn point-in-time recovery off"),
            ("dynamodb:DeleteTable", "delete the table"),
        ):
            yield row(action, table, {}, why)
        yield row(
            "dynamodb:DeleteBackup", f"{table}/backup/01733097600000-0f1e2d3c", {}, "delete a backup of the table"
        )


def bounded_role_rows(stack: StackIam) -> Iterator[tuple[Row, None]]:
    """What code running as a connector or vault role must never do, even if its own policy said so."""
    # Two regions suffice: every region plans the same connector (tests/components/test_stack_cross_cutting.py),
    # and the documents differ only by region names.
    for region in stack.regions[:2]:
        scope = stack.connector_scope(region)
        customer_volume = f"arn:aws:ec2:{region}:{stack.account}:volume/vol-0customer00000000"
        customer_snapshot = f"arn:aws:ec2:{region}::snapshot/snap-0customer0000000"
        vaults = list(scope.vaults)
        principals = [(f"{fn}@{region}", stack.function_role(region, fn)) for fn in naming.FUNCTIONS]
        principals += [(f"vault {v.name}@{region} task", stack.roles[v.task_role_arn]) for v in vaults]
        for who, principal in principals:

            def row(
                action, resource, keys=None, why="", who=who, principal=principal, confirms=INSTALLER_CODE_RUNS_BOUNDED
            ):
                return Row(who, principal, stack.request(action, resource, keys), why, confirms), None

            yield row("ec2:CreateSnapshot", customer_volume, {}, "snapshot any volume of the customer's")
            yield row("ec2:DeleteSnapshot", customer_snapshot, {}, "delete a customer's snapshot")
            yield row(
                "iam:PutRolePolicy",
                principal.role_arn,
                {"iam:PermissionsBoundary": stack.boundary_arn},
                "widen its own role",
            )
            yield row("iam:CreateRole", naming.iam_arn(stack.account, "role/Anything"), {}, "create a role")
            repository = naming.arn("ecr", region, stack.account, "repository/elastio/scalez-worker")
            for action in ("ecr:PutImage", "ecr:InitiateLayerUpload"):
                yield row(
                    action,
                    repository,
                    {},
                    "push an image (an ECR token only does what the role may)",
                    confirms=ECR_TOKEN_SCOPED_BY_ROLE,
                )
            yield row(
                "iam:PassRole",
                stack.function_role(region, "catalog").role_arn,
                {"iam:PassedToService": ECS_TASKS},
                "pass a function role to a task",
                confirms=PASS_ROLE_ONLY_TO_ITS_SERVICE,
            )
            for vault in vaults:
                yield row(
                    "iam:PassRole",
                    vault.task_role_arn,
                    {"iam:PassedToService": LAMBDA},
                    "pass a vault role to a function",
                    confirms=PASS_ROLE_ONLY_TO_ITS_SERVICE,
                )
                yield row(
                    "kms:CreateGrant",
                    vault.key_arn,
                    {},
                    "grant itself or anyone the vault key directly",
                    confirms=KMS_GRANTS_ONLY_FOR_AWS_RESOURCES,
                )
                yield row(
                    "kms:CreateGrant",
                    vault.key_arn,
                    {"kms:ViaService": f"ec2.{region}.amazonaws.com"},
                    "a grant through EC2 that is not for an AWS resource",
                    confirms=KMS_GRANTS_ONLY_FOR_AWS_RESOURCES,
                )
        for vault in vaults:
            # The task role uses its key directly only for the vault secret (engine/vaultconfig.py).
            task = stack.roles[vault.task_role_arn]
            who = f"vault {vault.name}@{region} task"
            s3_object = {"kms:EncryptionContext:aws:s3:arn": f"{vault.bucket_arn}/packs/0001.pack"}
            for keys, why in (
                ({}, "decrypt anything under the vault key, outside S3 and DynamoDB"),
                (
                    encryption_context_keys(s3_object),
                    "decrypt an object's data key itself (S3 does that, for the bucket's readers only)",
                ),
                (
                    encryption_context_keys(secret_context("elastio-someone-elses-bucket")),
                    "the secret of a bucket that is not its vault's",
                ),
            ):
                for action in ("kms:Decrypt", "kms:GenerateDataKey"):
                    yield Row(who, task, stack.request(action, vault.key_arn, keys), why), None
        if len(vaults) > 1:  # vaults are isolated namespaces: one vault's code never reads another's data
            first, second = vaults[0], vaults[1]
            other = stack.roles[second.task_role_arn]

            def other_row(action, resource, keys=None, why="", who=f"vault {second.name}@{region} task", role=other):
                return Row(who, role, stack.request(action, resource, keys), why), None

            yield other_row(
                "kms:Decrypt",
                first.key_arn,
                encryption_context_keys(secret_context(bucket_name(first.bucket_arn))),
                "read another vault's secret (its chunk ids and manifest MACs)",
            )

            yield other_row("s3:GetObject", f"{first.bucket_arn}/packs/0001.pack", {}, "read another vault's packs")
            yield other_row(
                "s3:DeleteObject", f"{first.bucket_arn}/packs/0001.pack", {}, "delete another vault's packs"
            )
            yield other_row(
                "kms:Decrypt",
                first.key_arn,
                {"kms:ViaService": f"s3.{region}.amazonaws.com"},
                "decrypt with another vault's key",
            )
        jobs = stack.function_role(region, "background_jobs")
        foreign_job = f"arn:aws:batch:{region}:{stack.account}:job/0customer-job"
        yield (
            Row(
                f"background_jobs@{region}",
                jobs,
                stack.request("batch:TerminateJob", foreign_job),  # a customer's job: none of Elastio's tags
                "terminate a customer's own Batch job",
            ),
            None,
        )


def people_rows(stack: StackIam) -> Iterator[tuple[Row, None]]:
    region = stack.regions[0]
    scope = stack.connector_scope(region)
    vault = scope.vaults[0]
    pack = f"{vault.bucket_arn}/packs/0001.pack"
    manifest = f"{vault.bucket_arn}/manifests/vol-1/rp-1.json"
    untagged_volume = f"arn:aws:ec2:{region}:{stack.account}:volume/vol-0notoptedin00000"
    opted_in_volume = f"arn:aws:ec2:{region}:{stack.account}:volume/vol-0optedin000000000"

    # The bucket policy keeps backup data from everyone but the vault, whatever their IAM policies say.
    administrator = Principal(f"arn:aws:iam::{stack.account}:role/Administrator", (ADMINISTRATOR,))
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        for key in (pack, manifest):
            yield (
                Row(
                    "an administrator",
                    administrator,
                    stack.request(action, key),
                    "backup data outside the vault's own roles",
                ),
                None,
            )
    if stack.plan.config.iam.break_glass_role_arn:
        glass = Principal(stack.plan.config.iam.break_glass_role_arn, (ADMINISTRATOR,))
        for action in ("s3:PutObject", "s3:DeleteObject"):
            yield Row("break-glass", glass, stack.request(action, pack), "break-glass reads, never changes"), None
    restorer = stack.person("ElastioMountAndRestore")
    yield (
        Row(
            "ElastioMountAndRestore",
            restorer,
            stack.request("ec2:AttachVolume", opted_in_volume, {f"aws:ResourceTag/{LOCAL_BACKUP_TAG_KEY}": "true"}),
            "attach a customer's volume that is opted in to local backup, not Elastio's",
            SPLIT_STATEMENTS,
        ),
        None,
    )
    for base in stack.plan.outputs["managedPolicyArns"]:
        person = stack.person(base)

        def row(action, resource, keys=None, why="", person=person, base=base, confirms=""):
            return Row(base, person, stack.request(action, resource, keys), why, confirms), None

        yield row("s3:GetObject", pack, {}, "read backup data (only the vault task role and break-glass may)")
        yield row("s3:DeleteObject", pack, {}, "delete backup data")
        yield row(
            "ec2:CreateSnapshot",
            untagged_volume,
            {},
            "snapshot a volume the customer did not opt in",
            confirms=SPLIT_STATEMENTS,
        )
        yield row("kms:ScheduleKeyDeletion", vault.key_arn, {}, "destroy the vault key")
        for keys in ({}, {"kms:ViaService": f"ec2.{region}.amazonaws.com"}):
            yield row(
                "kms:CreateGrant",
                vault.key_arn,
                keys,
                "grant the vault key to anyone, not for an AWS resource",
                confirms=KMS_GRANTS_ONLY_FOR_AWS_RESOURCES,
            )


def tenant_rows(stack: StackIam) -> Iterator[tuple[Row, None]]:
    """The tenant talks to the connector through its queues only: no data, no functions, no changes."""
    tenant = stack.roles[stack.plan.outputs["tenantRoleArn"]]
    region = stack.regions[0]
    scope = stack.connector_scope(region)
    vault = scope.vaults[0]
    for action, resource, why in (
        ("s3:GetObject", f"{vault.bucket_arn}/packs/0001.pack", "read backup data"),
        ("sqs:ReceiveMessage", scope.queue_arn(naming.COMMANDS_QUEUE), "take commands off the queue"),
        ("lambda:InvokeFunction", scope.function_arn("background_jobs"), "call a service around the router"),
        ("dynamodb:PutItem", scope.table_arn("jobs"), "forge a job record"),
        ("batch:SubmitJob", vault.job_queue_arn, "run a job directly"),
    ):
        yield Row("tenant", tenant, stack.request(action, resource), why), None


def denied_rows(stack: StackIam) -> list[tuple[Row, dict | None]]:
    """(row, a resource policy that replaces the planned one for this row, or None)."""
    return [*installer_rows(stack), *bounded_role_rows(stack), *tenant_rows(stack), *people_rows(stack)]


def decide_row(stack: StackIam, row: Row, policy: dict | None) -> Decision:
    """The row's decision, under the planned resource policy or the one the row replaces it with."""
    if policy is None:
        return stack.decide(row.principal, row.request)
    return decide(row.principal, row.request, policy)
