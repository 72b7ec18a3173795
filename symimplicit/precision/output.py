"""Where results are written: checked before any work starts, never created silently."""
from __future__ import annotations

import os

from symimplicit.errors import OutputError

__all__ = ["output_path"]


def output_path(path, what: str) -> str:
    """``path`` as a string, after checking that its directory exists and is writable.

    A missing directory is refused (not created): a typo in a path should not scatter
    files.  Raises :class:`~symimplicit.errors.OutputError` naming ``what`` is written.

    Examples
    ========

    >>> from symimplicit.precision.output import output_path
    >>> output_path("/no/such/dir/plot.png", "the plot")
    Traceback (most recent call last):
    ...
    symimplicit.errors.OutputError: cannot write the plot to '/no/such/dir/plot.png': the directory '/no/such/dir' does not exist (create it first)
    """
    text = os.fspath(path)
    if not isinstance(text, str) or not text:
        raise OutputError(f"cannot write {what}: {path!r} is not a file name", path=str(path))
    folder = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(folder):
        raise OutputError(f"cannot write {what} to {text!r}: the directory "
                          f"{os.path.dirname(text) or folder!r} does not exist (create it first)",
                          path=text)
    if os.path.isdir(text):
        raise OutputError(f"cannot write {what} to {text!r}: it is a directory", path=text)
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write {what} to {text!r}: the directory is not writable",
                          path=text)
    return text
