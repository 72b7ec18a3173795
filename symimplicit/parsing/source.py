"""Text level of the parser: ``^`` rewritten to ``**`` with a map back to the user's
positions, and the split into equations (``;`` / new lines) and sides (one ``=``)."""
from __future__ import annotations

from symimplicit.errors import ParseError
from symimplicit.parsing.limits import MAX_DEPTH

__all__ = ["Source", "Equation", "split"]


class Source:
    """The text with ``^`` rewritten to ``**``, and a map back to original positions."""

    def __init__(self, text: str):
        self.text = text
        out, where = [], []
        for i, ch in enumerate(text):
            if ch in "'\"":
                raise ParseError("strings are not allowed", text, i)
            if ch == "#":
                raise ParseError("comments are not allowed", text, i)
            if ch == "\x00":
                raise ParseError("NUL characters are not allowed", text, i)
            piece = "**" if ch == "^" else ch            # a^b means a**b
            out.append(piece)
            where.extend([i] * len(piece))
        self.src = "".join(out)
        self.where = where + [len(text)]

    def error(self, message: str, src_pos: int | None) -> ParseError:
        pos = None if src_pos is None else self.where[min(max(src_pos, 0), len(self.where) - 1)]
        return ParseError(message, self.text, pos)


class Equation:
    """Spans (in ``Source.src``) of one equation: lhs, and rhs after a top-level '='."""

    def __init__(self, lhs: tuple[int, int], rhs: tuple[int, int] | None, eq_pos: int | None):
        self.lhs, self.rhs, self.eq_pos = lhs, rhs, eq_pos


def split(source: Source) -> list[Equation]:
    """Split at top-level ';' / new lines, then at a single top-level '='."""
    src, depth, opened = source.src, 0, []
    equations, start, eq_pos = [], 0, None
    for i, ch in enumerate(src):
        if ch in "([{":
            depth += 1
            opened.append(i)
            if depth > MAX_DEPTH:
                raise source.error(f"nesting deeper than {MAX_DEPTH} levels", i)
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                raise source.error(f"unbalanced {ch!r}", i)
            opened.pop()
        elif depth == 0 and ch in ";\n":
            equations.append(_make_equation(source, start, i, eq_pos))
            start, eq_pos = i + 1, None
        elif depth == 0 and ch == "=" and _is_assignment(src, i):
            if eq_pos is not None:
                raise source.error("more than one '=' in an equation", i)
            eq_pos = i
    if depth:
        raise source.error("unclosed parenthesis", opened[-1])
    equations.append(_make_equation(source, start, len(src), eq_pos))
    equations = [e for e in equations if e is not None]
    if not equations:
        raise source.error("empty text: no equation to parse", None)
    return equations


def _is_assignment(src: str, i: int) -> bool:
    """A lone '=' (not part of '==', '<=', '>=', '!=')."""
    before = src[i - 1] if i else ""
    after = src[i + 1] if i + 1 < len(src) else ""
    return before not in "=<>!" and after != "="


def _make_equation(source: Source, start: int, end: int, eq_pos: int | None):
    if eq_pos is None:
        return None if not source.src[start:end].strip() else Equation((start, end), None, None)
    return Equation((start, eq_pos), (eq_pos + 1, end), eq_pos)
