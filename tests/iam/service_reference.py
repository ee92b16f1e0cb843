"""Which condition keys a request carries, from the Service Authorization Reference (parliament ships it).

AWS puts a service key (kms:ViaService, ec2:CreateAction, aws:ResourceTag/...) into a request only where the
reference lists it for that action or for the resource type it touches; a policy condition on any other key
sees it absent (an Allow needing it never matches, a Deny testing it with a negated operator always fires).
The tables describe everything a request could know; `request_context` keeps what AWS would put in it.
Global `aws:` keys (aws:PrincipalArn, aws:SecureTransport, aws:ResourceAccount, ...) are in every request.
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

from tests.parliament_known import parliament

# The aws: keys that are service-specific despite their prefix: the reference lists them per action.
_TAG_KEYS = ("aws:requesttag/", "aws:resourcetag/", "aws:tagkeys")


@cache
def _services() -> dict[str, dict]:
    return {service["prefix"]: service for service in parliament.iam_definition}


@cache
def _arn_pattern(template: str) -> re.Pattern:
    # ${Var} stands for one field; the last field (names, paths) may hold any character.
    parts = re.split(r"(\$\{[^}]+\})", template)
    body = "".join(".+" if p.startswith("${") else re.escape(p) for p in parts)
    return re.compile(f"^{body}$")


def _privilege(action: str) -> dict:
    prefix, name = action.split(":", 1)
    service = _services().get(prefix)
    found = service and next((p for p in service["privileges"] if p["privilege"].lower() == name.lower()), None)
    if not found:
        raise KeyError(f"{action} is not in the Service Authorization Reference: a typo in the table?")
    return found


@cache
def supported_keys(action: str, resource: str) -> tuple[str, ...]:
    """Key patterns (lower case, ${TagKey} as a wildcard) the action supports on this resource."""
    privilege = _privilege(action)
    service = _services()[action.split(":", 1)[0]]
    templates = {r["resource"]: r for r in service["resources"]}
    keys: list[str] = []
    for entry in privilege["resource_types"]:
        kind = entry["resource_type"].rstrip("*")
        if not kind:  # keys of the action itself
            keys += entry["condition_keys"]
        elif kind in templates and (resource == "*" or _arn_pattern(templates[kind]["arn"]).match(resource)):
            keys += entry["condition_keys"] + templates[kind]["condition_keys"]
    return tuple(k.lower() for k in keys)


@cache
def _supported(key: str, patterns: tuple[str, ...]) -> bool:
    key = key.lower()
    if key.startswith("aws:") and not key.startswith(_TAG_KEYS):
        return True
    return any(re.fullmatch(re.sub(r"\\\$\\\{[^}]+\\\}|<[^>]+>", ".+", re.escape(p)), key) for p in patterns)


def request_context(action: str, resource: str, keys: Mapping[str, object]) -> dict[str, object]:
    """The keys AWS puts into this request, of those the caller could know."""
    patterns = supported_keys(action, resource)
    return {k: v for k, v in keys.items() if _supported(k, patterns)}


def actions_matching(pattern: str) -> list[str]:
    """The actions of the reference an action pattern (kms:ReEncrypt*) names."""
    if "*" not in pattern and "?" not in pattern:
        return [pattern]
    prefix, name = pattern.split(":", 1)
    regex = re.compile("^" + re.escape(name).replace(r"\*", ".*").replace(r"\?", ".") + "$", re.IGNORECASE)
    return [f"{prefix}:{p['privilege']}" for p in _services()[prefix]["privileges"] if regex.match(p["privilege"])]
