"""Tag merging: every taggable resource gets the user's tags plus the Elastio marker tag."""

from __future__ import annotations

from collections.abc import Mapping

from elastio_pulumi.constants import RESOURCE_TAG_KEY, RESOURCE_TAG_VALUE


def merged_tags(user_tags: Mapping[str, str] | None, **extra: str) -> dict[str, str]:
    """User tags, then component-specific tags, then the marker, which nobody may override."""
    tags = dict(user_tags or {})
    tags.update(extra)
    tags[RESOURCE_TAG_KEY] = RESOURCE_TAG_VALUE
    return tags
