"""The finer points of each rule: how resources are linked, what counts as compliant, what does not."""

import json

from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from tests.policies.policy_graph import (
    GraphBuilder,
    by_name,
    changed,
    compliant_graph,
    policy,
    with_added,
    without,
)

TAGS = {"elastio:resource": "true"}


def _policy_of(name, *statements):
    return changed(name, lambda r: r["inputs"].update(policy=policy(*statements)))


# --- S3 ---------------------------------------------------------------------------------------------------

def test_bucket_settings_link_through_the_dependency_even_when_the_bucket_name_is_unknown(verdicts_of):
    records = compliant_graph()
    for record in records:
        if record["name"].startswith("vault-main-") and "bucket" in record["inputs"]:
            record["inputs"]["bucket"] = UNKNOWN_STRING_VALUE
    rules = ("s3-bucket-sse-kms", "s3-bucket-versioning", "s3-bucket-public-access-block",
             "s3-bucket-tls-only")
    for rule in rules:
        assert verdicts_of(records, rule) == [], rule


def test_bucket_settings_link_by_literal_name_without_a_dependency(verdicts_of):
    records = changed("vault-main-versioning", lambda r: r.update(property_dependencies={}))
    assert verdicts_of(records, "s3-bucket-versioning") == []


def test_another_buckets_settings_do_not_count(verdicts_of):
    builder = GraphBuilder()
    builder.add("aws:s3/bucket:Bucket", "logs-bucket", {"bucket": "logs", "tags": TAGS})
    verdicts = verdicts_of(compliant_graph() + builder.records, "s3-bucket-public-access-block")
    assert [v.name for v in verdicts] == ["logs-bucket"]


def test_missing_public_access_block_names_the_bucket(verdicts_of):
    verdicts = verdicts_of(without("vault-main-public-access-block"), "s3-bucket-public-access-block")
    assert [v.name for v in verdicts] == ["vault-main-bucket"]
    assert "no public access block" in verdicts[0].message


def test_sse_kms_with_the_aws_managed_key_fails_unless_relaxed(verdicts_of):
    records = changed("vault-main-encryption", lambda r: r["inputs"]["rules"][0][
        "applyServerSideEncryptionByDefault"].pop("kmsMasterKeyId"))
    assert len(verdicts_of(records, "s3-bucket-sse-kms")) == 1
    relaxed = {"s3-bucket-sse-kms": {"requireCustomerManagedKey": False}}
    assert verdicts_of(records, "s3-bucket-sse-kms", relaxed) == []


def test_deprecated_inline_versioning_on_the_bucket_counts(verdicts_of):
    records = [r for r in compliant_graph() if r["name"] != "vault-main-versioning"]
    by_name(records, "vault-main-bucket")["inputs"]["versioning"] = {"enabled": True}
    assert verdicts_of(records, "s3-bucket-versioning") == []


def test_tls_deny_that_only_covers_reads_is_not_tls_only(verdicts_of):
    records = _policy_of("vault-main-bucket-policy", {
        "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    assert len(verdicts_of(records, "s3-bucket-tls-only")) == 1


# --- SQS --------------------------------------------------------------------------------------------------

def test_failure_destination_queue_needs_no_dead_letter_queue_of_its_own(verdicts_of):
    records = compliant_graph()
    assert "redrivePolicy" not in by_name(records, "connector-us-east-1-failed-invocations")["inputs"]
    assert verdicts_of(records, "sqs-queue-dead-letter") == []


def test_dead_letter_queue_left_without_a_source_is_flagged_too(verdicts_of):
    records = changed("connector-us-east-1-commands", lambda r: (
        r["inputs"].pop("redrivePolicy"), r["property_dependencies"].pop("redrivePolicy")))
    names = sorted(v.name for v in verdicts_of(records, "sqs-queue-dead-letter"))
    assert names == ["connector-us-east-1-commands", "connector-us-east-1-commands-dlq"]


def test_redrive_policy_computed_from_an_unknown_arn_counts_as_set(verdicts_of):
    records = changed("connector-us-east-1-commands", lambda r: r["inputs"].update(redrivePolicy="[unknown]"))
    assert [v.name for v in verdicts_of(records, "sqs-queue-dead-letter")] == []


def test_dead_letter_target_named_by_literal_arn_is_recognised(verdicts_of):
    records = changed("connector-us-east-1-commands",
                      lambda r: r["property_dependencies"].pop("redrivePolicy"))
    assert verdicts_of(records, "sqs-queue-dead-letter") == []


def test_queue_with_sqs_managed_encryption_passes(verdicts_of):
    assert by_name(compliant_graph(), "connector-us-east-1-tenant-events")["inputs"]["sqsManagedSseEnabled"]
    assert verdicts_of(compliant_graph(), "sqs-queue-encrypted") == []


# --- Lambda -----------------------------------------------------------------------------------------------

def test_log_group_is_found_through_logging_config_even_with_an_unknown_function_name(verdicts_of):
    records = changed("connector-us-east-1-catalog", lambda r: r["inputs"].update(
        name="[unknown]", loggingConfig={"logFormat": "JSON", "logGroup": "[unknown]"}))
    assert verdicts_of(records, "lambda-log-group-retention") == []


def test_log_group_is_found_by_the_aws_lambda_naming_convention(verdicts_of):
    assert "loggingConfig" not in by_name(compliant_graph(), "connector-us-east-1-router")["inputs"]
    records = changed("connector-us-east-1-router-logs",
                      lambda r: r["inputs"].update(name="/aws/lambda/someone-else"))
    names = [v.name for v in verdicts_of(records, "lambda-log-group-retention")]
    assert names == ["connector-us-east-1-router"]


def test_retention_of_zero_days_means_forever_and_fails(verdicts_of):
    records = changed("connector-us-east-1-router-logs", lambda r: r["inputs"].update(retentionInDays=0.0))
    verdicts = verdicts_of(records, "lambda-log-group-retention")
    assert [v.name for v in verdicts] == ["connector-us-east-1-router"] and "forever" in verdicts[0].message


def test_container_image_functions_skip_the_runtime_check(verdicts_of):
    records = changed("connector-us-east-1-router", lambda r: (
        r["inputs"].pop("runtime"), r["inputs"].update(packageType="Image")))
    assert verdicts_of(records, "lambda-supported-runtime") == []


def test_function_url_without_authentication_is_public(verdicts_of):
    records = with_added("aws:lambda/functionUrl:FunctionUrl", "router-url",
                         {"functionName": "elastio-router-use1", "authorizationType": "NONE"})
    assert [v.name for v in verdicts_of(records, "lambda-not-public")] == ["router-url"]


def test_wildcard_permission_scoped_to_a_source_account_is_not_public(verdicts_of):
    records = changed("connector-us-east-1-inventory-events", lambda r: r["inputs"].update(
        principal="*", sourceArn=None, sourceAccount="123456789012"))
    assert verdicts_of(records, "lambda-not-public") == []


# --- IAM --------------------------------------------------------------------------------------------------

def test_deny_for_everyone_is_not_a_wildcard_grant(verdicts_of):
    assert verdicts_of(compliant_graph(), "iam-no-wildcard-principal") == []  # the TLS denies use "*"


def test_wildcard_principal_with_a_condition_passes(verdicts_of):
    records = _policy_of("connector-us-east-1-commands-policy", {
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sqs:SendMessage", "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}})
    assert verdicts_of(records, "iam-no-wildcard-principal") == []


def test_allow_with_not_principal_counts_as_a_wildcard(verdicts_of):
    records = _policy_of("connector-us-east-1-commands-policy", {
        "Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "sqs:SendMessage", "Resource": "*"})
    assert len(verdicts_of(records, "iam-no-wildcard-principal")) == 1


def test_tenant_role_is_recognised_with_prefix_and_suffix(verdicts_of):
    records = changed("tenant-role", lambda r: r["inputs"].update(
        name="x-ElastioTenant-y", assumeRolePolicy=policy({
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringLike": {"sts:ExternalId": "*"}}})))
    verdicts = verdicts_of(records, "iam-tenant-trust-external-id")
    assert [v.name for v in verdicts] == ["tenant-role"] and "StringEquals" in verdicts[0].message


def test_tenant_role_of_a_deployment_with_its_own_name_prefix_is_recognised(verdicts_of):
    # elastio:namePrefix "staging" names the tenant role StagingTenant (issue 16): the default config still finds it.
    records = changed("tenant-role", lambda r: r["inputs"].update(
        name="StagingTenant", assumeRolePolicy=policy({
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"})))
    verdicts = verdicts_of(records, "iam-tenant-trust-external-id")
    assert [v.name for v in verdicts] == ["tenant-role"]


def test_wildcard_external_id_fails(verdicts_of):
    records = changed("tenant-role", lambda r: r["inputs"].update(assumeRolePolicy=policy({
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:*",
        "Condition": {"StringEquals": {"sts:ExternalId": "*"}}})))
    assert len(verdicts_of(records, "iam-tenant-trust-external-id")) == 1


def test_other_roles_need_no_external_id(verdicts_of):
    role = by_name(compliant_graph(), "connector-us-east-1-catalog-role")
    assert "ExternalId" not in role["inputs"]["assumeRolePolicy"]
    assert verdicts_of(compliant_graph(), "iam-tenant-trust-external-id") == []


def test_pass_role_through_a_wildcard_action_on_every_resource_fails(verdicts_of):
    records = _policy_of("backup-admin", {"Effect": "Allow", "Action": "iam:Pass*", "Resource": ["*"]})
    assert len(verdicts_of(records, "iam-no-pass-role-star")) == 1


def test_action_star_in_a_roles_inline_policy_names_where(verdicts_of):
    records = changed("connector-us-east-1-catalog-role", lambda r: r["inputs"].update(inlinePolicies=[
        {"name": "ok", "policy": policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})},
        {"name": "bad", "policy": policy({"Effect": "Allow", "Action": "*:*", "Resource": "*"})}]))
    verdicts = verdicts_of(records, "iam-no-action-star")
    assert len(verdicts) == 1 and "inlinePolicies[1].policy" in verdicts[0].message


# --- compute, keys, tags ----------------------------------------------------------------------------------

def test_ec2_batch_environment_scaled_to_zero_passes(verdicts_of):
    records = changed("vault-main-compute", lambda r: r["inputs"].update(computeResources={
        "type": "SPOT", "minVcpus": 0.0, "maxVcpus": 16.0, "subnets": ["subnet-0123456789abcdef0"]}))
    assert verdicts_of(records, "batch-compute-idle-at-rest") == []


def test_ecs_service_at_zero_tasks_is_not_always_on(verdicts_of):
    records = with_added("aws:ecs/service:Service", "idle", {"desiredCount": 0.0, "tags": TAGS})
    assert verdicts_of(records, "no-always-on-compute") == []


def test_asymmetric_keys_cannot_rotate_and_pass(verdicts_of):
    records = with_added("aws:kms/key:Key", "signing", {
        "customerMasterKeySpec": "ECC_NIST_P256", "keyUsage": "SIGN_VERIFY", "tags": TAGS})
    assert verdicts_of(records, "kms-key-rotation") == []


def test_provider_default_tags_satisfy_the_tag_rule(verdicts_of):
    builder = GraphBuilder()
    provider = builder.add("pulumi:providers:aws", "aws-tagged",
                           {"region": "us-east-1", "defaultTags": {"tags": TAGS}})
    builder.add("aws:sns/topic:Topic", "topic", {"kmsMasterKeyId": "k"})
    builder.records[-1]["provider"] = f"{provider}::aws-tagged-id"
    assert verdicts_of(builder.records, "required-tags") == []
    builder.records[-1].pop("provider")
    assert len(verdicts_of(builder.records, "required-tags")) == 1


# --- container images -------------------------------------------------------------------------------------

def _server_image(image):
    return changed("vault-main-server", lambda r: r["inputs"].update(
        containerDefinitions=json.dumps([{"name": "scalez-server", "image": image}])))


def test_a_server_image_by_tag_names_the_server_config_key_and_the_pinned_form(verdicts_of):
    [verdict] = verdicts_of(_server_image("registry.example.com:5000/team/scalez-server:latest"),
                            "container-image-pinned-by-digest")
    assert verdict.name == "vault-main-server" and verdict.level == "advisory"
    assert "elastio:options.serverImage: registry.example.com:5000/team/scalez-server@sha256:<digest>" in (
        verdict.message)


def test_an_image_pinned_by_digest_with_a_tag_beside_it_is_compliant(verdicts_of):
    pinned = "public.ecr.aws/elastio/scalez-server:1.0.0@sha256:" + "a" * 64
    assert verdicts_of(_server_image(pinned), "container-image-pinned-by-digest") == []


def test_the_same_unpinned_image_in_many_definitions_is_one_verdict(verdicts_of):
    records = _server_image("public.ecr.aws/elastio/scalez-server:1.0.0")
    copy_of_server = json.loads(json.dumps(by_name(records, "vault-main-server")))
    copy_of_server.update(name="vault-other-server", urn=copy_of_server["urn"].replace("vault-main", "vault-other"))
    assert len(verdicts_of(records + [copy_of_server], "container-image-pinned-by-digest")) == 1
