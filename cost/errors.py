"""The one error the cost library raises for bad input: it names the field, the value and the fix."""

from __future__ import annotations

from typing import Any


class CostInputError(ValueError):
    """A workload, region or price-table problem a user can fix.

    `field` is the library's name for the input (`protected_gb`, `region`, ...). Front ends say it their way:
    the CLI as a flag (`--protected-gb`), the preview as a config key (`elastio:usage.protectedGb`), through
    `describe(name)`.
    """

    def __init__(self, field: str, value: Any, problem: str):
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__(self.describe(field))

    def describe(self, name: str) -> str:
        if self.value is None:  # nothing was given: the problem says what is missing
            return f"{name}: {self.problem}"
        return f"{name}: {self.value!r} {self.problem}"
