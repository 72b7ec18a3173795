"""A step's plain sentence, split into words and formulas, then written as LaTeX or Markdown.

The sentences of :class:`~symimplicit.derive.Step` are plain Unicode text that
mention formulas (``F = x - f(x) = 0``, ``∂F/∂(x, y, lambda_1)``, ``det ∂F/∂x ≠ 0``)
and symbol names.  :func:`segments` cuts a sentence into ``("text", str)`` and
``("math", latex)`` pieces: a formula is a run of symbol names, single letters,
digits, operators and math characters; an English word ends it.  A lone ``a``
followed by a word is the article, not the parameter ``a``.

The writers escape what the target language treats specially, so user-chosen
symbol names can never break the document.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from symimplicit.report.names import latex_name, unicode_name

__all__ = ["segments", "latex_text", "markdown_text", "intertext", "math_text",
           "plain_text", "escape_latex"]

_MATH_CHARS = {
    "∂": r"\partial ", "≠": r"\neq ", "·": r"\cdot ", "∇": r"\nabla ", "≤": r"\leq ",
    "≥": r"\geq ", "→": r"\to ", "×": r"\times ", "∈": r"\in ", "ⁿ": "^{n}",
    "⁻¹": "^{-1}", "ᵀ": "^{T}", "²": "^{2}", "³": "^{3}", "θ": r"\theta ", "λ": r"\lambda ", "ω": r"\omega ",
    "κ": r"\kappa ", "ε": r"\varepsilon ", "−": "-", "…": r"\ldots ", "ᵢ": "_{i}", "ⱼ": "_{j}", "ₖ": "_{k}",
}
_OPERATORS = set("=+-*/(),;<>|^[]") | {"⁻"}
_TOKEN = re.compile(r"⁻¹|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|\s+|.", re.S)
_FUNCTION_WORDS = {"det": r"\det", "exp": r"\exp", "log": r"\log", "sin": r"\sin",
                   "cos": r"\cos", "tr": r"\operatorname{tr}"}
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
                  "#": r"\#", "^": r"\^{}", "_": r"\_", "%": r"\%", "~": r"\~{}",
                  "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}
_MARKDOWN_SPECIAL = set("\\`*_{}[]<>#|$~")


def _kind(token: str, following: str, names: set[str]) -> str:
    """'math', 'glue' (operator or space: math only between math tokens) or 'text'."""
    if token.isspace() or token in _OPERATORS or token in (".", ":"):
        return "glue"
    if token in _MATH_CHARS or token.isdigit() or re.fullmatch(r"\d+\.\d+", token):
        return "math"
    if re.fullmatch(r"_[A-Za-z0-9]+", token) or re.fullmatch(r"[A-Za-z]_[A-Za-z0-9]", token):
        return "math"                                # θ_S, R_S: a subscript
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token):
        if token in ("a", "A", "I") and token not in names or \
                token in ("a", "A") and re.match(r"\s+[A-Za-z]{2,}", following):
            return "text"                          # the article "a", the pronoun "I"
        if token in names or (len(token) == 1 and token.isalpha()) or token in _FUNCTION_WORDS:
            return "math"
        return "text"
    return "text"


def segments(sentence: str, names: Iterable[str] = ()) -> list[tuple[str, str]]:
    """``[("text", words), ("math", latex), ...]`` for one plain sentence.

    ``names``: the symbol names of the problem (multi-letter names such as
    ``lambda_1`` or ``Re`` are formulas only when listed here).
    """
    names = set(names)
    tokens = _TOKEN.findall(sentence)
    kinds = [_kind(t, "".join(tokens[i + 1:i + 3]), names) for i, t in enumerate(tokens)]
    out: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(tokens):
        if kinds[i] != "math" and not _opens(tokens, kinds, i):
            _append(out, "text", tokens[i])
            i += 1
            continue
        j = i + 1                                   # extend over math and glue ...
        while j < len(tokens) and kinds[j] in ("math", "glue"):
            j += 1
        while kinds[j - 1] == "glue" and not _closes(tokens[i:j]):
            j -= 1                                  # ... but give trailing glue back to the text
        formula = "".join(_math_token(t) for t in tokens[i:j])
        _append(out, "math", re.sub(r"\s+", " ", formula).strip())
        i = j
    return [(k, "".join(parts)) for k, parts in out]


def _opens(tokens: list[str], kinds: list[str], i: int) -> bool:
    """An opening bracket directly followed by a formula starts that formula: ``(x, y)``."""
    return tokens[i] in "([" and i + 1 < len(tokens) and kinds[i + 1] == "math"


def _closes(run: list[str]) -> bool:
    """A trailing ``)`` that closes a bracket opened inside the run belongs to the formula."""
    if run[-1] not in (")", "]"):
        return False
    depth = sum({"(": 1, "[": 1, ")": -1, "]": -1}.get(t, 0) for t in run)
    return depth >= 0


def _append(out: list, kind: str, piece: str) -> None:
    if out and out[-1][0] == kind:
        out[-1][1].append(piece)
    else:
        out.append((kind, [piece]))


def _math_token(token: str) -> str:
    if token in _MATH_CHARS:
        return _MATH_CHARS[token]
    if token in _FUNCTION_WORDS:
        return _FUNCTION_WORDS[token] + " "
    if token.isspace():
        return " "
    if token in ("{", "}"):
        return "\\" + token
    if re.fullmatch(r"_[A-Za-z0-9]+", token):
        return "_{" + token[1:] + "}"
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token):
        return latex_name(token)
    return token


def escape_latex(text: str) -> str:
    """Text-mode LaTeX for arbitrary text: specials escaped, other characters outside
    Latin-1 written as ``[U+XXXX]`` (pdflatex has no glyph for them by default)."""
    out = []
    for ch in text:
        if ch in _LATEX_SPECIAL:
            out.append(_LATEX_SPECIAL[ch])
        elif ch in _MATH_CHARS:
            out.append(f"${_MATH_CHARS[ch].strip()}$")
        elif ord(ch) > 0xFF or (ord(ch) < 0x20 and ch not in "\n\t"):
            out.append(f"[U+{ord(ch):04X}]")
        else:
            out.append(ch)
    return "".join(out)


def latex_text(sentence: str, names: Iterable[str] = ()) -> str:
    """The sentence as LaTeX text mode with inline ``$...$`` formulas."""
    return "".join(escape_latex(s) if k == "text" else f"${s}$"
                   for k, s in segments(sentence, names))


def intertext(sentence: str, names: Iterable[str] = ()) -> str:
    """The sentence as the argument of an amsmath ``\\intertext``."""
    return latex_text(sentence, names)


def math_text(sentence: str, names: Iterable[str] = ()) -> str:
    """The sentence inside a math environment: ``\\text{words} formula \\text{ words}``
    (no ``$`` inside ``\\text``, so MathJax renders it as well as LaTeX)."""
    return "".join(r"\text{" + escape_latex(s) + "}" if k == "text" else s
                   for k, s in segments(sentence, names))


def markdown_text(sentence: str, names: Iterable[str] = ()) -> str:
    """The sentence as Markdown with ``$...$`` formulas (GitHub, Jupyter)."""
    def md(s: str) -> str:
        return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in s)
    return "".join(md(s) if k == "text" else f"${s}$" for k, s in segments(sentence, names))


def plain_text(sentence: str, names: Iterable[str] = ()) -> str:
    """The sentence for a terminal: listed symbol names in Unicode (``lambda_1`` → ``λ₁``)."""
    names = set(names)
    return re.sub(r"[A-Za-z_][A-Za-z0-9_]*",
                  lambda m: unicode_name(m.group(0)) if m.group(0) in names else m.group(0),
                  sentence)
