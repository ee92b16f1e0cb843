"""Errors a library caller sees when building a component's Args."""


class ArgsError(ValueError):
    """Args that would fail in AWS; the message names the argument, the value and the fix, one problem a line."""

    def __init__(self, component: str, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(f"{component}: {problem}" for problem in problems))
