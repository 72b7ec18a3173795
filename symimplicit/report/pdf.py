"""LaTeX source -> PDF with a real ``pdflatex`` (Debian: texlive-latex-base).

pdflatex runs in a fresh temporary directory with ``-interaction=nonstopmode
-halt-on-error -no-shell-escape`` and a timeout; only the PDF is copied out.  A
missing pdflatex raises :class:`~symimplicit.errors.MissingDependencyError` naming
the Debian package; a failed run raises :class:`LatexError` with the end of the log.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from symimplicit.errors import MissingDependencyError, SymimplicitError

__all__ = ["LatexError", "compile_pdf", "pdflatex_path", "TIMEOUT", "LOG_LINES"]

TIMEOUT = 60.0
"""Seconds one pdflatex run may take."""

LOG_LINES = 20
"""Lines of the pdflatex log quoted in a LatexError."""


class LatexError(SymimplicitError, RuntimeError):
    """pdflatex failed on a document; ``log`` holds the end of its log, ``source`` the LaTeX.

    Examples
    ========
    >>> from symimplicit.report import LatexError
    >>> from symimplicit.errors import SymimplicitError
    >>> e = LatexError("pdflatex failed", log="! Undefined control sequence.")
    >>> isinstance(e, SymimplicitError), e.log
    (True, '! Undefined control sequence.')
    """

    def __init__(self, message: str, *, log: str = "", source: str = ""):
        self.log = log
        self.source = source
        super().__init__(f"{message}\n{log}" if log else message)


def pdflatex_path() -> str:
    """The pdflatex executable, or MissingDependencyError naming the Debian package."""
    path = shutil.which("pdflatex")
    if path is None:
        raise MissingDependencyError("pdflatex", debian="texlive-latex-base",
                                     purpose="compiling LaTeX to PDF")
    return path


def _log_tail(workdir: Path, stdout: str) -> str:
    log = workdir / "report.log"
    text = log.read_text(errors="replace") if log.exists() else stdout
    lines = [ln for ln in text.splitlines() if ln.strip()]
    errors = [i for i, ln in enumerate(lines) if ln.startswith("!")]
    start = errors[0] if errors else max(len(lines) - LOG_LINES, 0)
    return "\n".join(lines[start:start + LOG_LINES])


def compile_pdf(source: str, path, *, timeout: float = TIMEOUT, runs: int = 1) -> Path:
    """Compile the LaTeX ``source`` and write the PDF to ``path``; returns the Path.

    ``runs``: pdflatex passes (1 suffices without cross-references).

    Examples
    ========
    >>> import shutil, tempfile, pathlib
    >>> from symimplicit.report import compile_pdf
    >>> source = "\\\\documentclass{article}\\\\begin{document}$x^2$\\\\end{document}"
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "x.pdf"
    >>> made = compile_pdf(source, out) if shutil.which("pdflatex") else None   # needs pdflatex
    >>> made is None or made.read_bytes().startswith(b"%PDF")
    True
    """
    exe = pdflatex_path()
    target = Path(path)
    with tempfile.TemporaryDirectory(prefix="symimplicit-latex-") as tmp:
        workdir = Path(tmp)
        (workdir / "report.tex").write_text(source, encoding="utf-8")
        command = [exe, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
                   "report.tex"]
        env = {**os.environ, "TEXMFOUTPUT": tmp}
        for _ in range(runs):
            try:
                done = subprocess.run(command, cwd=workdir, capture_output=True, text=True,
                                      errors="replace", timeout=timeout, env=env,
                                      stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                raise LatexError(f"pdflatex took longer than {timeout:g} s",
                                 log=_log_tail(workdir, ""), source=source) from None
            if done.returncode != 0:
                raise LatexError(f"pdflatex failed (exit status {done.returncode}) on the "
                                 f"document for {target.name}; the log ends:",
                                 log=_log_tail(workdir, done.stdout), source=source)
        produced = workdir / "report.pdf"
        if not produced.exists():
            raise LatexError("pdflatex produced no PDF", log=_log_tail(workdir, ""),
                             source=source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(produced, target)
    return target
