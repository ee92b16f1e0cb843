"""Which planned changes would make the provider replace a resource (delete and re-create it).

The mocks accept any change; the provider decides per input whether a change is an in-place update or a
replacement. This table lists the replace-on-change inputs of the resource types whose replacement hurts a
customer (data-bearing resources, and IAM policies customers attach to their own principals), each with the
source of the rule. `replacements(base, new)` compares two planned graphs as `pulumi preview` would: same URN,
an input in the table changed, and the input not in the resource's `ignore_changes`.
"""

from __future__ import annotations

from typing import Any

# type token -> (replace-on-change inputs, source)
REPLACE_ON_CHANGE: dict[str, tuple[tuple[str, ...], str]] = {
    "aws:iam/policy:Policy": (
        ("name", "namePrefix", "path", "description"),
        "terraform-provider-aws aws_iam_policy: name, name_prefix, path and description 'Forces new resource' "
        "(IAM has no API to change them)",
    ),
}


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
