"""Encryption and recovery of the data services: KMS key rotation, DynamoDB PITR and KMS, SNS encryption."""

from __future__ import annotations

from collections.abc import Iterator

from ..rule import Subject, resource_rule, setting_schema
from ..values import as_bool, dig, is_set

KEY_TYPE = "aws:kms/key:Key"
TABLE_TYPE = "aws:dynamodb/table:Table"
TOPIC_TYPE = "aws:sns/topic:Topic"


def check_key_rotation(subject: Subject) -> Iterator[str]:
    # AWS rotates only symmetric encryption keys; asymmetric and HMAC keys cannot be rotated at all.
    spec = dig(subject.props, "customerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    usage = dig(subject.props, "keyUsage") or "ENCRYPT_DECRYPT"
    if spec != "SYMMETRIC_DEFAULT" or usage != "ENCRYPT_DECRYPT":
        return
    if as_bool(dig(subject.props, "enableKeyRotation")) is not True:
        yield "automatic key rotation is off: set enable_key_rotation=True"


def check_table_point_in_time_recovery(subject: Subject) -> Iterator[str]:
    if as_bool(dig(subject.props, "pointInTimeRecovery", "enabled")) is not True:
        yield "point-in-time recovery is off: set point_in_time_recovery={'enabled': True}"


def check_table_kms_encryption(subject: Subject) -> Iterator[str]:
    if as_bool(dig(subject.props, "serverSideEncryption", "enabled")) is not True:
        yield ("table uses the DynamoDB-owned key: set server_side_encryption={'enabled': True, "
               "'kms_key_arn': <key ARN>}")
        return
    require_key = as_bool(subject.config.get("requireCustomerManagedKey"))
    if require_key is not False and not is_set(dig(subject.props, "serverSideEncryption", "kmsKeyArn")):
        yield ("table uses the AWS-managed aws/dynamodb key: set server_side_encryption.kms_key_arn "
               "(or set requireCustomerManagedKey: false)")


def check_topic_encryption(subject: Subject) -> Iterator[str]:
    if not is_set(dig(subject.props, "kmsMasterKeyId")):
        yield "topic is not encrypted: set kms_master_key_id to a KMS key"


POLICIES = [
    resource_rule(
        "kms-key-rotation",
        "Symmetric KMS keys rotate their key material automatically every year (or the configured period).",
        [KEY_TYPE],
        check_key_rotation,
    ),
    resource_rule(
        "dynamodb-point-in-time-recovery",
        "DynamoDB tables keep point-in-time recovery on, so a bad write can be rolled back (35 days).",
        [TABLE_TYPE],
        check_table_point_in_time_recovery,
    ),
    resource_rule(
        "dynamodb-kms-encryption",
        "DynamoDB tables encrypt with a KMS key (customer-managed unless configured otherwise).",
        [TABLE_TYPE],
        check_table_kms_encryption,
        config_schema=setting_schema(
            "requireCustomerManagedKey",
            True,
            "Require a customer-managed KMS key rather than the AWS-managed aws/dynamodb key.",
        ),
    ),
    resource_rule(
        "sns-topic-encrypted",
        "SNS topics encrypt messages at rest with a KMS key.",
        [TOPIC_TYPE],
        check_topic_encryption,
    ),
]
