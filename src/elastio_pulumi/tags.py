"""Tag merging: every taggable resource gets the user's tags plus the Elastio marker and deployment tags."""

from __future__ import annotations

from collections.abc import Mapping

from elastio_pulumi.constants import DEPLOYMENT_TAG_KEY, RESOURCE_TAG_KEY, RESOURCE_TAG_VALUE


def merged_tags(user_tags: Mapping[str, str] | None, **extra: str) -> dict[str, str]:
    """User tags, then component-specific tags, then the marker, which nobody may override."""
    tags = dict(user_tags or {})
    tags.update(extra)
    tags[RESOURCE_TAG_KEY] = RESOURCE_TAG_VALUE
    return tags


def deployment_tags(tags: Mapping[str, str] | None, name_prefix: str) -> dict[str, str]:
    """The tags every resource of a component carries: `tags` with the marker and the deployment tag (the
    deployment's name prefix), which the IAM grants on the deployment's own resources require. Set by each
    component from its own Args, so a program composing the components gets them too; explicit on every
    resource because Pulumi's provider default tags are invisible to the planned graph (and to its tests)."""
    return {**merged_tags(tags), DEPLOYMENT_TAG_KEY: name_prefix}
