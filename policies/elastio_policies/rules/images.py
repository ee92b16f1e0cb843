"""Container images: the vault tasks run with full access to a vault's data, so the image they run must not
change under them. A tag (`:1.0.0`, `:latest`) is mutable; a digest (`@sha256:...`) names one image for good."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from ..rule import ADVISORY, DeferredUnknowns, Graph, stack_rule
from ..values import InvalidJson, as_list, dig, is_unknown, parse_json_object

JOB_DEFINITION_TYPE = "aws:batch/jobDefinition:JobDefinition"
TASK_DEFINITION_TYPE = "aws:ecs/taskDefinition:TaskDefinition"
# An image reference pinned by content: `<repository>@sha256:<64 hex digits>` (OCI image spec, digests).
PINNED = re.compile(r"[^@\s]+@sha256:[0-9a-f]{64}")
# Where the Elastio program takes each kind's image from (the pack stays self-contained: names, not imports).
CONFIG_KEY = {JOB_DEFINITION_TYPE: "elastio:options.workerImage", TASK_DEFINITION_TYPE: "elastio:options.serverImage"}


def _images(resource_type: str, props: dict) -> list:
    if resource_type == JOB_DEFINITION_TYPE:
        raw = dig(props, "containerProperties")
        container = parse_json_object(raw, "containerProperties") if not is_unknown(raw) else None
        return [dig(container, "image")] if container else []
    raw = dig(props, "containerDefinitions")  # a JSON array of container definitions
    try:
        definitions = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return []
    return [dig(d, "image") for d in as_list(definitions) if isinstance(d, dict)]


def _repository(image: str) -> str:
    """The image reference without its tag or digest (a registry port stays: only the last part is cut)."""
    head, slash, last = image.rpartition("/")
    return head + slash + re.split(r"[:@]", last)[0]


def check_images_pinned(graph: Graph) -> Iterator[tuple[str, str]]:
    """One verdict per unpinned image, on the first resource that runs it (the same image in every vault and
    region is one thing to fix)."""
    deferred = DeferredUnknowns()
    reported: set[str] = set()

    def findings() -> Iterator[tuple[str, str]]:
        for resource in graph.of_type(JOB_DEFINITION_TYPE, TASK_DEFINITION_TYPE):
            try:
                images = _images(resource.resource_type, graph.props(resource))
            except InvalidJson:
                continue  # malformed definitions are the provider's to reject
            for image in images:
                if not isinstance(image, str) or PINNED.fullmatch(image) or image in reported:
                    continue
                reported.add(image)
                yield resource.urn, (
                    f"image {image} is a mutable tag: whoever can push that tag changes what runs with full "
                    f"access to the vault's data; pin it by digest ({CONFIG_KEY[resource.resource_type]}: "
                    f"{_repository(image)}@sha256:<digest>)"
                )

    yield from deferred.run(findings())
    deferred.raise_if_any()


POLICIES = [
    stack_rule(
        "container-image-pinned-by-digest",
        "Batch job definitions and ECS task definitions run images pinned by digest (@sha256:...), not by a "
        "mutable tag: the vault tasks run with full access to the vault's data.",
        check_images_pinned,
        level=ADVISORY,
    ),
]
