"""Machine-readable and notebook forms shared by verify reports and studies: numbers
as strict JSON, and HTML tables whose every cell is escaped.

JSON has no NaN or infinity: a non-finite float is written as the string ``"nan"``,
``"inf"`` or ``"-inf"`` (:func:`json_number`), so ``json.dumps(..., allow_nan=False)``
always succeeds and every reader gets the same document.
"""
from __future__ import annotations

import html
import json
import math

__all__ = ["json_number", "dumps", "html_table", "param_order_text"]


def json_number(value):
    """A finite number as a float; NaN and ±inf as the strings 'nan', 'inf', '-inf'.

    Examples
    ========

    >>> from symimplicit.precision.display import json_number
    >>> json_number(0.5), json_number(float("inf")), json_number(float("nan"))
    (0.5, 'inf', 'nan')
    """
    if value is None:
        return None
    v = float(value)
    if math.isfinite(v):
        return v
    return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")


def dumps(data: dict) -> str:
    """``data`` as indented, strict JSON (refuses NaN/inf: pass them through json_number)."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)


def param_order_text(statement) -> str:
    """'parameters (in call order): a, b': the order a layer and ``at=`` values follow.

    Examples
    ========

    >>> from symimplicit.parsing import parse
    >>> from symimplicit.precision.display import param_order_text
    >>> param_order_text(parse("x = cos(b*x + a)"))
    'parameters (in call order): a, b'
    """
    names = [p.name for p in getattr(statement, "params", ())]
    return "parameters (in call order): " + (", ".join(names) if names else "none")


def html_table(head: list, body: list, *, caption: list = (), footer: list = (),
               numeric_from: int = 1) -> str:
    """An HTML ``<table>`` with ``caption`` lines above and ``footer`` lines below.

    Every string is escaped with :func:`html.escape` (a statement or a note may hold
    ``<``, ``&`` or quotes); columns from ``numeric_from`` on are right-aligned.

    Examples
    ========

    >>> from symimplicit.precision.display import html_table
    >>> print(html_table(["q", "v"], [["x<y", "1"]]))  # doctest: +NORMALIZE_WHITESPACE
    <div class="symimplicit"><table><thead><tr><th style="text-align:left">q</th><th
    style="text-align:right">v</th></tr></thead><tbody><tr><td style="text-align:left">x&lt;y</td><td
    style="text-align:right">1</td></tr></tbody></table></div>
    """
    def align(k: int) -> str:
        return "right" if k >= numeric_from else "left"

    def row(cells, tag: str) -> str:
        return "<tr>" + "".join(f'<{tag} style="text-align:{align(k)}">{html.escape(str(c))}'
                                f"</{tag}>" for k, c in enumerate(cells)) + "</tr>"

    parts = ['<div class="symimplicit">']
    parts += [f"<p>{html.escape(str(line))}</p>" for line in caption]
    parts.append("<table><thead>" + row(head, "th") + "</thead><tbody>"
                 + "".join(row(cells, "td") for cells in body) + "</tbody></table>")
    parts += [f"<p>{html.escape(str(line))}</p>" for line in footer]
    return "".join(parts) + "</div>"
