"""symimplicit.report: a Derivation as LaTeX, Markdown, PDF and terminal text.

* :func:`latex` (``Derivation.latex``): the ``align*`` environment, or with
  ``document=True`` a standalone document that pdflatex compiles;
* :func:`markdown` (``Derivation.markdown``): sentences and ``$$`` blocks;
* :func:`pdf` (``Derivation.pdf``): the document compiled by pdflatex
  (:class:`LatexError` on failure, MissingDependencyError without pdflatex);
* :func:`repr_latex`: the notebook form; :func:`derivation_text`: the terminal form;
* :func:`latex_name` / :func:`unicode_name`: ``theta_1`` → ``\\theta_{1}`` / ``θ₁``.

Nothing here computes a derivative: everything is rendered from ``Derivation.steps``.
The command line lives in :mod:`symimplicit.cli`.
"""
from symimplicit.report.latex import (align, latex, markdown, repr_latex, standalone,
                                      statement_latex, statement_repr_latex)
from symimplicit.report.names import latex_name, symbol_names, unicode_name
from symimplicit.report.pdf import LatexError, compile_pdf
from symimplicit.report.printer import DerivationPrinter
from symimplicit.report.text import derivation_text

__all__ = ["latex", "align", "standalone", "markdown", "repr_latex", "pdf", "compile_pdf",
           "statement_latex", "statement_repr_latex", "derivation_text", "LatexError",
           "latex_name", "unicode_name", "symbol_names", "DerivationPrinter"]


def pdf(derivation, path, **options):
    """Compile ``derivation``'s standalone document to the PDF file ``path`` (returns its Path).

    ``options``: ``wrt``, ``width``, ``title`` as for :func:`latex`, and ``timeout`` (s).

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root
    >>> x, a = sp.symbols("x a")
    >>> d = Root(x**2 - a, x, a).derive()
    >>> import shutil, tempfile, pathlib
    >>> from symimplicit.report import pdf
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "root.pdf"
    >>> made = pdf(d, out) if shutil.which("pdflatex") else None      # needs pdflatex
    >>> made is None or made.read_bytes().startswith(b"%PDF")
    True
    """
    timeout = options.pop("timeout", None)
    source = standalone(derivation, **options)
    return compile_pdf(source, path) if timeout is None else \
        compile_pdf(source, path, timeout=timeout)
