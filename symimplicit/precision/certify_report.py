"""The verdict of :func:`~symimplicit.precision.certify`: enclosures proved by interval
arithmetic, and the digits of the target's float64 values that they prove.

For each quantity q (each unknown's solution, each ∂xᵢ/∂θⱼ, any requested higher
derivative) with enclosure 𝐪 = [lo, hi] ∋ q and float64 value v:

* ``bound`` = max_{t ∈ 𝐪} |v − t| / max(mig 𝐪, floor): a proved upper bound of the
  relative error of v (the largest relative distance from v to the far end of the
  enclosure), rounded up; ``floor`` = √ε · the largest |t| of the quantity's row, as
  in :mod:`~symimplicit.precision.report` (float64 promises no relative accuracy for
  a component that is noise next to its neighbours), and at least 2⁻¹⁰⁶ (ε²) when
  every enclosure of the row contains 0 (an exact zero is then judged absolutely);
* ``digits`` = −log10(bound), capped at the working digits: the digits *proved*
  correct.  Without a proof (a failed enclosure) nothing is claimed: 0 digits.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

import mpmath

from symimplicit.errors import GradientMismatchError
from symimplicit.precision.interval import hi, iv, ivprec, lo, mag, mig
from symimplicit.precision.reference import EPS, ZERO_FLOOR, digits_from_error
from symimplicit.precision.report import _latex_sci

__all__ = ["CertRow", "CertifyReport", "proved_bound", "ABSOLUTE_FLOOR"]

ABSOLUTE_FLOOR = EPS ** 2
"""Below this magnitude (2⁻¹⁰⁶) a component of a vanishing row is measured absolutely."""


def proved_bound(value, enclosure, floor, dps: int) -> float:
    """max_{t ∈ 𝐪} |v − t| / max(mig 𝐪, floor), rounded up (inf without a proof)."""
    if enclosure is None or value is None or not math.isfinite(value):
        return math.inf
    with ivprec(dps + 5):
        dist = hi(abs(iv.mpf(value) - enclosure))            # the far end of 𝐪 from v
        den = max(mig(enclosure), mpmath.mpf(floor))
        if den == 0:
            return 0.0 if dist == 0 else math.inf
        bound = hi(iv.mpf(dist) / iv.mpf(den))
    return float(mpmath.mpf(bound)) if bound < 1e300 else math.inf


@dataclass
class CertRow:
    """One quantity: ``name`` (``x``, ``∂x/∂a``, ``∂²x/∂a²``), ``kind`` (``solution``,
    ``gradient``, ``derivative``), the target's float64 ``value`` (None for a
    derivative the target does not give), the proved ``enclosure`` (an
    ``mpmath.iv.mpf``; None when unproved), ``bound`` and ``digits`` (module docstring)."""

    name: str
    kind: str
    value: float | None
    enclosure: object
    bound: float
    digits: float
    latex: str = ""

    @property
    def proved(self) -> bool:
        return self.enclosure is not None

    @property
    def width(self):
        """hi − lo of the enclosure, an mpf (below float range at 1000 digits); inf when
        unproved."""
        if self.enclosure is None:
            return mpmath.inf
        with mpmath.workprec(self.enclosure.ctx.prec + 10):
            return hi(self.enclosure) - lo(self.enclosure)

    @property
    def relative_width(self):
        """(hi − lo) / min |t| over the enclosure, an mpf (inf when it holds 0 or is unproved)."""
        if self.enclosure is None:
            return mpmath.inf
        m = mig(self.enclosure)
        return mpmath.inf if m == 0 else self.width / m

    @property
    def inside(self) -> bool | None:
        """The float64 value lies in the enclosure (None without a value or a proof)."""
        if self.enclosure is None or self.value is None or not math.isfinite(self.value):
            return None
        return bool(lo(self.enclosure) <= self.value <= hi(self.enclosure))

    def contains(self, truth) -> bool:
        """``truth`` (an mpf, compared exactly whatever its precision, or a float) lies in
        the enclosure."""
        t = truth if isinstance(truth, mpmath.mpf) else mpmath.mpf(truth)
        return self.enclosure is not None and bool(lo(self.enclosure) <= t <= hi(self.enclosure))

    def ok(self, tol: float) -> bool:
        """Proved, and the float64 value (if any) proved within ``tol`` (relative)."""
        return self.proved and (self.value is None or self.bound <= tol)

    def enclosure_text(self, digits: int = 20) -> str:
        """``centre ± radius`` (``not proved`` without an enclosure)."""
        if self.enclosure is None:
            return "not proved"
        a, b = lo(self.enclosure), hi(self.enclosure)
        with mpmath.workdps(max(digits, 30) + 10):
            centre, radius = (a + b) / 2, (b - a) / 2
        return f"{mpmath.nstr(centre, digits)} ± {mpmath.nstr(radius, 2)}"

    def value_text(self) -> str:
        return "—" if self.value is None else repr(self.value)

    def bound_text(self) -> str:
        if self.value is None:
            return "—"
        return "not finite" if not math.isfinite(self.value) else (
            "unproved" if not math.isfinite(self.bound) else f"{self.bound:.2e}")

    def as_dict(self, dps: int) -> dict:
        finite = self.value is not None and math.isfinite(self.value)
        out = {"name": self.name, "kind": self.kind, "value": self.value if finite else None,
               "value_text": self.value_text(),
               "proved": self.proved, "proved_digits": self.digits,
               "bound": None if not math.isfinite(self.bound) else self.bound}
        if self.enclosure is not None:
            out["enclosure"] = [_decimal(lo(self.enclosure), dps + 5, mpmath.floor),
                                _decimal(hi(self.enclosure), dps + 5, mpmath.ceil)]
            rel = self.relative_width
            out["width"] = float(self.width)
            out["relative_width"] = float(rel) if mpmath.isfinite(rel) else None
            out["log10_relative_width"] = (float(mpmath.log10(rel)) if mpmath.isfinite(rel)
                                           and rel > 0 else None)   # 1000 digits: below floats
            out["inside"] = self.inside
        return out


def _decimal(v, digits: int, rounding) -> str:
    """``v`` as a decimal string of ``digits`` significant digits rounded by ``rounding``
    (floor for a lower end, ceil for an upper end): the decimal enclosure stays an enclosure."""
    if v == 0 or not mpmath.isfinite(v):
        return mpmath.nstr(v)
    e = int(mpmath.floor(mpmath.log10(abs(v))))
    k = digits - 1 - e
    with mpmath.workprec(v.context.prec + 4 * abs(k) + 64):    # v·10^k exactly
        n = int(rounding(v * mpmath.mpf(10) ** k))
    return f"{n}e{-k}"


def make_rows(names: list, kind: str, values: list, enclosures: list, latex: list,
              dps: int, scale_of: list | None = None) -> list:
    """Rows for one quantity group (a solution vector or one unknown's gradient row).

    A component below ``ZERO_FLOOR`` times the largest of ``scale_of`` (default: the group's
    own enclosures; for a gradient row, the whole Jacobian, whose entries it is computed
    from) is measured absolutely against that floor, as verify's judge does."""
    with ivprec(dps + 5):
        proved = [e for e in enclosures if e is not None]
        scale = [e for e in (scale_of if scale_of is not None else proved) if e is not None]
        floor = ZERO_FLOOR * max([mag(e) for e in scale] + [mpmath.mpf(0)])
        if proved and all(mig(e) == 0 for e in proved):      # the whole row is proved ≈ 0
            floor = max(floor, mpmath.mpf(ABSOLUTE_FLOOR))
    rows = []
    for name, v, e, tex in zip(names, values, enclosures, latex):
        bound = proved_bound(v, e, floor, dps)
        digits = 0.0 if e is None or v is None else digits_from_error(bound, dps)
        rows.append(CertRow(name, kind, v, e, bound, digits, tex))
    return rows


@dataclass
class CertifyReport:
    """What interval arithmetic proved about a float64 implicit solution and gradient.

    ``rows``: :class:`CertRow` per quantity; ``failure``: None when every enclosure
    was proved, else the kind (see :class:`~symimplicit.precision.krawczyk.NotProved`)
    and ``reason`` the sentence saying why; ``box``: the enclosure of every system
    unknown (multipliers included); ``uniqueness``: the radius of the box in which
    the root was proved unique; ``second_order``: for a minimum, what was proved
    about the second-order condition; ``kappa``: the rounding amplification at the
    point; ``tol``: the relative error the float64 values must be proved within.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import FixedPoint
    >>> x, a = sp.symbols("x a")
    >>> fp = FixedPoint(sp.cos(a*x), x, (a,))
    >>> from symimplicit import certify
    >>> report = certify(fp, at={a: 1.0})
    >>> type(report).__name__, report.ok, report.failure
    ('CertifyReport', True, None)
    """

    target: str
    statement: object
    at: dict
    dps: int
    tol: float
    kappa: float
    rows: list
    failure: str | None = None
    reason: str = ""
    box: list = field(default_factory=list)
    uniqueness: float | None = None
    second_order: str | None = None
    seconds: float = 0.0
    notes: list = field(default_factory=list)

    # -- the verdict ----------------------------------------------------------------- #
    @property
    def certified(self) -> bool:
        """Every enclosure was proved (a unique root in the box, each derivative enclosed)."""
        return self.failure is None and all(r.proved for r in self.rows)

    @property
    def ok(self) -> bool:
        """Certified, and every float64 value proved within ``tol``."""
        return self.certified and all(r.ok(self.tol) for r in self.rows)

    @property
    def proved_digits(self) -> float:
        """The fewest digits proved over the rows with a float64 value (0 when unproved)."""
        digits = [r.digits for r in self.rows if r.value is not None]
        if not self.certified or not digits:
            return 0.0 if not self.certified else float(self.dps)
        return min(digits)

    @property
    def failures(self) -> list:
        return [r for r in self.rows if not r.ok(self.tol)]

    def row(self, name: str) -> CertRow:
        """The row called ``name`` (``"x"``, ``"∂x/∂a"``)."""
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"no row {name!r}; the rows are {[r.name for r in self.rows]}")

    def __bool__(self) -> bool:
        return self.ok

    def raise_if_wrong(self) -> "CertifyReport":
        """Raise NotProved when an enclosure failed, GradientMismatchError when a
        float64 value is not proved within ``tol``."""
        from symimplicit.precision.krawczyk import NotProved
        if not self.certified:
            raise NotProved(self.failure or "not_proved", f"{self.target}: {self.reason}\n{self}")
        if not self.ok:
            names = ", ".join(f"{r.name} ({r.digits:.1f} digits)" for r in self.failures)
            raise GradientMismatchError(f"{self.target}: {names} not proved within "
                                        f"tol={self.tol:.2e} at {self._at_text()}\n{self}")
        return self

    # -- rendering --------------------------------------------------------------------- #
    def _at_text(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.at.items())

    def verdict(self) -> str:
        if not self.certified:
            return f"NOT CERTIFIED ({self.failure}): {self.reason}"
        if self.ok:
            return (f"CERTIFIED: every value proved within tol (fewest digits proved: "
                    f"{self.proved_digits:.1f})")
        names = ", ".join(r.name for r in self.failures)
        return (f"CERTIFIED ENCLOSURES, but {names} not proved within tol (fewest digits "
                f"proved: {self.proved_digits:.1f})")

    def header(self) -> list:
        head = [f"certify {self.target} at {self._at_text()}",
                f"interval arithmetic: mpmath.iv at {self.dps} digits (Krawczyk), "
                f"{self.seconds:.3f} s"]
        if self.uniqueness is not None:
            head.append(f"the root is proved unique within radius "
                        f"{self.uniqueness:.2e} of the enclosure's centre")
        if self.second_order:
            head.append(self.second_order)
        return head + [f"κ = {self.kappa:.4g}, tol = {self.tol:.3g} (relative)"]

    def _table(self) -> tuple:
        head = ["quantity", "float64", "enclosure", "proved rel. error", "digits"]
        body = [[r.name, r.value_text(), r.enclosure_text(), r.bound_text(),
                 f"{r.digits:.1f}" if r.value is not None else "—"] for r in self.rows]
        return head, body

    def __str__(self) -> str:
        head, body = self._table()
        widths = [max(len(line[i]) for line in [head] + body) for i in range(len(head))]
        fmt = lambda line: "  " + "  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip()
        lines = self.header() + [fmt(head)] + [fmt(b) for b in body] + [self.verdict()]
        return "\n".join(lines + [f"note: {n}" for n in self.notes])

    def __repr__(self) -> str:
        return (f"<CertifyReport {self.target}: certified={self.certified}, ok={self.ok}, "
                f"proved_digits={self.proved_digits:.1f}>")

    def markdown(self) -> str:
        """A Markdown table with the header lines and the verdict."""
        head, body = self._table()
        lines = [self.header()[0], "", *(f"- {h}" for h in self.header()[1:]), "",
                 "| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
        lines += ["| " + " | ".join(b) + " |" for b in body]
        lines += ["", f"**{self.verdict()}**"] + [f"\nnote: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def latex(self) -> str:
        """The table as a LaTeX ``array``."""
        rows = [r"\text{quantity} & \text{float64} & \text{enclosure} & "
                r"\text{proved rel. error} & \text{digits} \\ \hline"]
        for r in self.rows:
            enc = r.enclosure_text().replace("±", r"\pm")
            enc = enc if r.proved else r"\text{not proved}"
            bound = (_latex_sci(r.bound) if r.value is not None and math.isfinite(r.bound)
                     else r"\text{" + r.bound_text() + "}")
            digits = f"{r.digits:.1f}" if r.value is not None else "-"
            rows.append(f"{r.latex or r.name} & {r.value_text()} & {enc} & {bound} & "
                        f"{digits} \\\\")
        verdict = self.verdict().replace("κ", r"\kappa").replace("_", r"\_")
        return ("\\begin{array}{l|rrrr}\n" + "\n".join(rows) + "\n\\end{array}"
                + f"\\\\ \\text{{{verdict}}}")

    def _repr_latex_(self) -> str:
        return f"$$\n{self.latex()}\n$$"

    def _repr_html_(self) -> str:
        head, body = self._table()
        cells = lambda tag, row: "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in row)
        items = "".join(f"<li>{html.escape(h)}</li>" for h in self.header()[1:])
        return (f"<div><p>{html.escape(self.header()[0])}</p><ul>{items}</ul><table>"
                f"<tr>{cells('th', head)}</tr>"
                + "".join(f"<tr>{cells('td', b)}</tr>" for b in body)
                + f"</table><p><b>{html.escape(self.verdict())}</b></p>"
                + "".join(f"<p>note: {html.escape(n)}</p>" for n in self.notes) + "</div>")

    def as_dict(self) -> dict:
        """A JSON-ready summary (enclosure endpoints as decimal strings)."""
        return {"target": self.target, "statement": repr(self.statement), "at": self.at,
                "dps": self.dps, "certified": self.certified, "ok": self.ok,
                "proved_digits": self.proved_digits, "failure": self.failure,
                "reason": self.reason, "kappa": self.kappa if math.isfinite(self.kappa) else None,
                "tol": self.tol, "uniqueness_radius": self.uniqueness,
                "second_order": self.second_order, "seconds": self.seconds,
                "rows": [r.as_dict(self.dps) for r in self.rows], "notes": list(self.notes)}
