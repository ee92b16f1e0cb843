"""Every taggable resource carries the required tags (by default `elastio:resource`).

The ElastioInstaller role's deny-delete on data-bearing resources matches that tag: an untagged bucket,
table or key would lose that protection, so the rule is mandatory.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..rule import Subject, resource_rule, setting_schema
from ..taggable_types import TAGGABLE_TYPES
from ..values import as_list, dig, is_unknown

DEFAULT_REQUIRED_TAGS = ("elastio:resource",)


def required_tags(config) -> list[str]:
    configured = [tag for tag in as_list(config.get("requiredTags")) if isinstance(tag, str) and tag]
    return configured or list(DEFAULT_REQUIRED_TAGS)


def check_required_tags(subject: Subject) -> Iterator[str]:
    tags = dig(subject.props, "tags")
    tags = tags if isinstance(tags, dict) else {}
    # Provider default tags reach every resource of that provider (a real run passes the provider).
    default_tags = dig(subject.provider_props, "defaultTags", "tags")
    default_tags = default_tags if isinstance(default_tags, dict) else {}
    missing = [
        key for key in required_tags(subject.config) if key not in tags and key not in default_tags
    ]
    # A key whose value is still unknown is there; only its value is not known yet.
    missing = [key for key in missing if not is_unknown(tags.get(key))]
    if missing:
        yield f"missing tag(s) {', '.join(missing)}: merge the stack's tags into this resource's tags"


POLICIES = [
    resource_rule(
        "required-tags",
        "Every taggable resource carries the required tags (elastio:resource marks what the installer "
        "may never delete).",
        TAGGABLE_TYPES,
        check_required_tags,
        config_schema=setting_schema(
            "requiredTags", DEFAULT_REQUIRED_TAGS, "Tag keys every taggable resource must carry."
        ),
    ),
]
