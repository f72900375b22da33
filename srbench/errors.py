"""Errors that srbench reports to the user as a message, not a traceback."""

from __future__ import annotations

import difflib


class SrbenchError(Exception):
    """A problem the user can fix; the CLI prints it and exits with ``exit_code``."""

    exit_code = 2


class UnknownNameError(SrbenchError):
    def __init__(self, kind: str, name: str, known):
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        super().__init__(f"unknown {kind} {name!r}.{hint} Known: {', '.join(known)}")
        self.kind, self.name, self.suggestions = kind, name, close


class DatasetError(SrbenchError):
    pass


class ImageError(SrbenchError):
    pass


class WeightsError(SrbenchError):
    pass


class MethodOutputError(SrbenchError):
    pass


class MissingDependencyError(SrbenchError):
    pass


class OutputDirError(SrbenchError):
    pass


class MethodFailedError(SrbenchError):
    """A method adapter or a metric raised an unexpected exception; the message names method, image and
    the exception. Work finished before it stays cached (a re-run resumes)."""


class FolderOutputsError(SrbenchError):
    """A ``folder:PATH`` method: the text is wrong, or the folder's SR files do not fit the run. One error
    lists every problem found (``problems``: group -> lines), so one fix-up round suffices."""

    def __init__(self, message: str, problems: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.problems = dict(problems or {})
