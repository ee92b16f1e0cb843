"""Routine config changes replace no data-bearing resource (issue 12, "How to keep it true").

Each change is planned next to the unchanged example stack and compared as `pulumi preview` would: no
replace-on-change input of a bucket, table, key, alias, lock configuration or queue changes (tests/replacement.py
lists them per type with their source), and no data-bearing resource disappears from its URN.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest

from elastio_pulumi import naming
from plan import build_plan
from tests.replacement import replacements, vanished
from tests.support import example_stack_values


def _add_vault(v):
    v["elastio:regions"][1]["vaults"].append({"name": "second"})


def _add_region(v):
    v["elastio:regions"].append(
        {
            "region": "us-west-2",
            "network": {
                "vpcId": "vpc-0aaaaaaaaaaaaaaaa",
                "subnetIds": ["subnet-0aaaaaaaaaaaaaaaa"],
                "assignPublicIp": True,
            },
            "vaults": [{"name": "primary"}],
        }
    )


def _lock_on(v):
    v["elastio:regions"][0]["vaults"][0]["objectLock"] = {"mode": "GOVERNANCE", "days": 7}


def _lock_off(v):
    del v["elastio:regions"][0]["vaults"][1]["objectLock"]


def _images(v):
    v["elastio:options"]["workerImage"] = "123456789012.dkr.ecr.{region}.amazonaws.com/scalez-worker:1.1.0"
    v["elastio:options"]["serverImage"] = "123456789012.dkr.ecr.{region}.amazonaws.com/scalez-server@sha256:" + "b" * 64


def _tags(v):
    v["elastio:tags"]["cost-center"] = "4711"


def _log_retention(v):
    v["elastio:options"]["logRetentionDays"] = 90


def _alert_email(v):
    v["elastio:options"]["alertEmails"].append("oncall@example.com")


CHANGES: dict[str, Callable[[dict], None]] = {
    "add a vault": _add_vault,
    "add a region": _add_region,
    "turn objectLock on for an existing vault": _lock_on,
    "remove objectLock from a vault": _lock_off,
    "change the images": _images,
    "change the tags": _tags,
    "change the log retention": _log_retention,
    "add an alert email": _alert_email,
}


@pytest.fixture(scope="module")
def base(example_plan):
    return example_plan


@functools.cache
def _changed(change: Callable[[dict], None]):
    values = example_stack_values()
    change(values)
    return build_plan("example", stack_values=values)


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_routine_change_replaces_no_data_bearing_resource(base, change):
    changed = _changed(CHANGES[change])
    assert replacements(base, changed) == []
    assert vanished(base, changed) == []


def test_turning_object_lock_on_adds_the_lock_configuration_to_the_same_bucket(base):
    changed = _changed(_lock_on)
    added = {r.urn for r in changed.resources} - {r.urn for r in base.resources}
    assert [urn.rsplit("::", 1)[1] for urn in added] == ["elastio-us-east-1-primary-bucket-object-lock"]


# --- the check sees what it is for ----------------------------------------------------------------------


def test_the_check_sees_a_bucket_name_change(base, monkeypatch):
    original = naming.vault_bucket_name
    monkeypatch.setattr(naming, "vault_bucket_name", lambda *a: original(*a) + "-v2")
    changed = build_plan("example")
    assert {(urn.rsplit("::", 1)[1], key) for urn, key, _, _ in replacements(base, changed)} == {
        ("elastio-us-east-1-primary-bucket", "bucket"),
        ("elastio-us-east-1-compliance-bucket", "bucket"),
        ("elastio-eu-west-1-default-bucket", "bucket"),
    }


def test_the_check_sees_a_renamed_vault_leave_its_data_behind(base):
    def rename(v):
        v["elastio:regions"][1]["vaults"][0]["name"] = "renamed"

    assert sorted(urn.rsplit("::", 1)[1] for urn in vanished(base, _changed(rename))) == [
        "elastio-eu-west-1-default-bucket",
        "elastio-eu-west-1-default-index",
        "elastio-eu-west-1-default-key",
    ]
