"""Errors that carry enough context (file, sample, fix) for a user to act on them."""

from __future__ import annotations


class GenoganInputError(ValueError):
    """Bad user input. The message names what is wrong, where (file/sample) and how to fix it."""

    def __init__(self, problem: str, *, path=None, sample: str | None = None,
                 fix: str | None = None):
        parts = []
        if sample is not None:
            parts.append(f"sample '{sample}'")
        if path is not None:
            parts.append(f"file '{path}'")
        where = f" [{', '.join(parts)}]" if parts else ""
        message = f"{problem}{where}"
        if fix:
            message += f". Fix: {fix}"
        super().__init__(message)
        self.path, self.sample, self.fix = path, sample, fix
