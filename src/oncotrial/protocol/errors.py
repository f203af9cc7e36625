"""The error of a protocol that cannot be read or does not validate, apart from the models so a
command can catch it without loading pydantic."""

from __future__ import annotations

__all__ = ["ProtocolError"]


class ProtocolError(ValueError):
    """A protocol file that cannot be read or does not validate; ``problems`` lists each one."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))
