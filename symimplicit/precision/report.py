"""The verdict of :func:`~symimplicit.precision.verify`: a table of float64 values
against the mpmath reference, rendered as text, Markdown and LaTeX.

Measures, for each row (the solution, then every gradient component):

* ``rel_error``: |v - r| / |r| when |r| exceeds the rounding floor u·ē of the row
  (ē its first-order float64 rounding bound), else |v - r| / ē (judged absolutely,
  ``absolute``; "abs" in the table), see :mod:`symimplicit.precision.judge`;
* ``tol``: 64·u·ē / scale, so a row passes when |v - r| ≤ 64·u·ē;
* ``digits`` = -log10(rel_error), capped at the reference's digits;
* a NaN or infinite float64 value has an infinite ``rel_error`` and 0 ``digits``,
  and is shown as "not finite";
* ``ulps`` = |v - r| / ulp(max(|r|, ē)): never in the last place of a zero;
* ``kappa``: the largest relative rounding amplification at the point (docs/precision.md).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import sympy as sp

from symimplicit.errors import DerivationError, GradientMismatchError
from symimplicit.precision.display import dumps, html_table, json_number, param_order_text
from symimplicit.precision.reference import EPS

__all__ = ["Row", "VerifyReport", "EPS", "default_tol", "TOL_FACTOR", "TOL_CEILING",
           "ROUTE_SLACK"]

TOL_FACTOR = 64
"""Default tolerance: TOL_FACTOR · κ · 2⁻⁵³ ..."""

TOL_CEILING = 1e-8
"""... but never looser than this, however ill-conditioned the problem."""

ROUTE_SLACK = 5
"""The IFT and Richardson references must agree to ``dps - ROUTE_SLACK`` digits."""


def default_tol(kappa: float) -> float:
    """min(64 · κ · 2⁻⁵³, 1e-8): one relative tolerance from κ alone.

    Kept for callers that want a single number; verify itself judges each row by its
    own rounding bound (``Row.tol`` = 64·u·ē/scale, see :mod:`symimplicit.precision.judge`),
    which is not capped: a value exact at the correctly rounded solution must pass.

    Examples
    ========
    >>> from symimplicit.precision import default_tol
    >>> default_tol(1.0) == 64 * 2.0**-53, default_tol(1e12)
    (True, 1e-08)
    """
    k = kappa if math.isfinite(kappa) else math.inf
    return min(TOL_FACTOR * max(k, 1.0) * EPS, TOL_CEILING)


@dataclass
class Row:
    """One checked quantity: ``name`` (``x``, ``∂x/∂a``), ``kind`` (``solution`` or
    ``gradient``), the float64 ``value``, the ``reference`` (mpf), and the measures.

    ``bound``: ē, the first-order bound on its float64 rounding error in units of
    u = 2⁻⁵³ (:func:`~symimplicit.precision.reference.error_bounds`); ``absolute``:
    the reference is below the floor u·ē float64 can resolve (an exact zero), so the
    error is measured against ē, the scale of the quantities it is computed from;
    ``tol``: the relative error allowed by default, TOL_FACTOR·u·ē / scale.
    """

    name: str
    kind: str
    value: float
    reference: object
    rel_error: float
    digits: float
    ulps: float
    kappa: float
    latex: str = ""
    bound: float = 0.0
    absolute: bool = False
    tol: float = math.inf

    @property
    def finite(self) -> bool:
        """False when the float64 value is NaN or infinite (then nothing of it is right)."""
        return math.isfinite(self.value)

    def ok(self, tol: float | None = None) -> bool:
        """Within ``tol`` (relative to the row's scale), or by default within its own tol."""
        return self.finite and self.rel_error <= (self.tol if tol is None else tol)

    def error_text(self) -> str:
        if not self.finite:
            return "not finite"
        return f"{self.rel_error:.2e}" + (" abs" if self.absolute else "")


@dataclass
class VerifyReport:
    """How right a float64 solution and gradient are, judged by mpmath.

    ``rows``: :class:`Row` for each unknown's solution, then each ∂xᵢ/∂θⱼ;
    ``kappa``: the rounding amplification of the IFT solve (docs/precision.md);
    ``tol``: the relative error allowed for every row when given (None: each row's
    own ``Row.tol`` = TOL_FACTOR·u·ē/scale, from the rounding bound of that quantity);
    ``route_digits``: to how many digits the IFT and Richardson references
    agree; ``suspect``: True when they disagree (then the derivation itself, or
    the reference, is not to be trusted and ``ok`` is False); ``start``: where the
    reference Newton solve started (it judges the root found from there).

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import FixedPoint
    >>> x, a = sp.symbols("x a")
    >>> fp = FixedPoint(sp.cos(a*x), x, (a,))
    >>> from symimplicit import verify
    >>> report = verify(fp, at={a: 1.0})
    >>> type(report).__name__, report.ok
    ('VerifyReport', True)
    >>> [(row.name, row.digits > 14) for row in report.rows]
    [('x', True), ('∂x/∂a', True)]
    """

    target: str
    statement: object
    at: dict
    dps: int
    tol: float | None
    kappa: float
    rows: list
    route_digits: float | None
    backend: str
    seconds: float = 0.0
    notes: list = field(default_factory=list)
    start: str = ""
    constant_digits: int | None = None

    # -- the verdict ----------------------------------------------------------------- #
    @property
    def suspect(self) -> bool:
        """The two reference routes disagree (beyond what the statement's own Float
        constants allow, ``constant_digits``): the derivation is suspect."""
        limit = self.dps if self.constant_digits is None else min(self.dps, self.constant_digits)
        return self.route_digits is not None and self.route_digits < limit - ROUTE_SLACK

    @property
    def ok(self) -> bool:
        """Every row within ``tol`` and the reference routes agree."""
        return not self.suspect and all(r.ok(self.tol) for r in self.rows)



    @property
    def digits(self) -> float:
        """The fewest digits correct over all rows."""
        return min(r.digits for r in self.rows)

    @property
    def worst(self) -> Row:
        """The row with the largest relative error (a non-finite value first)."""
        return max(self.rows, key=lambda r: math.inf if not r.finite or math.isnan(r.rel_error)
                   else r.rel_error)

    @property
    def failures(self) -> list:
        """The rows outside ``tol``."""
        return [r for r in self.rows if not r.ok(self.tol)]

    def _tol_text(self) -> str:
        if self.tol is not None:
            return f"tol = {self.tol:.3g} (relative, given)"
        worst = max((r.tol for r in self.rows if math.isfinite(r.tol)), default=math.nan)
        return (f"tol = {TOL_FACTOR}·u·ē per row (ē: its rounding bound; loosest "
                f"{worst:.3g} relative)")

    def __bool__(self) -> bool:
        return self.ok

    def raise_if_wrong(self) -> "VerifyReport":
        """Raise DerivationError when suspect, GradientMismatchError when not ok."""
        if self.suspect:
            raise DerivationError("the IFT reference and the Richardson reference agree to "
                                  f"only {self.route_digits:.1f} of {self.dps} digits: the "
                                  f"derivation is suspect\n{self}")
        if not self.ok:
            names = ", ".join(f"{r.name} ({r.digits:.1f} digits)" if r.finite
                              else f"{r.name} (not finite: {r.value!r})" for r in self.failures)
            raise GradientMismatchError(f"{self.target}: {names} outside tol "
                                        f"({self._tol_text()}) at {self._at_text()}\n{self}")
        return self

    # -- rendering --------------------------------------------------------------------- #
    def _at_text(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.at.items())

    def _verdict(self) -> str:
        if self.suspect:
            return (f"DERIVATION SUSPECT: the two reference routes agree to only "
                    f"{self.route_digits:.1f} digits")
        if self.ok:
            return f"OK: every value within tol (fewest digits correct: {self.digits:.1f})"
        names = ", ".join(r.name if r.finite else f"{r.name} (not finite)" for r in self.failures)
        return f"MISMATCH: {names} outside tol (fewest digits correct: {self.digits:.1f})"

    def _header(self) -> list:
        routes = ("not checked" if self.route_digits is None
                  else f"{self.route_digits:.1f} digits")
        head = [f"verify {self.target} at {self._at_text()}",
                f"reference: mpmath {self.dps} digits ({self.backend} backend), IFT and "
                f"Richardson routes agree to {routes}"]
        head.append(param_order_text(self.statement))
        if self.start:
            head.append(f"reference solved from {self.start}")
        return head + [f"κ = {self.kappa:.4g}, {self._tol_text()}, {self.seconds:.3f} s"]

    @staticmethod
    def _ref_text(ref, digits: int = 20) -> str:
        import mpmath
        return mpmath.nstr(ref, digits)

    def __str__(self) -> str:
        head = ["quantity", "float64", "reference", "rel. error", "digits", "ulps"]
        body = [[r.name, repr(r.value), self._ref_text(r.reference), r.error_text(),
                 f"{r.digits:.1f}", f"{r.ulps:.3g}"] for r in self.rows]
        widths = [max(len(line[i]) for line in [head] + body) for i in range(len(head))]
        fmt = lambda line: "  " + "  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip()
        lines = self._header() + [fmt(head)] + [fmt(b) for b in body] + [self._verdict()]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<VerifyReport {self.target}: ok={self.ok}, digits={self.digits:.1f}, "
                f"kappa={self.kappa:.3g}>")

    def markdown(self) -> str:
        """A Markdown table with the header lines and the verdict."""
        lines = [" ".join(self._header()[:1]), "", *(f"- {h}" for h in self._header()[1:]), "",
                 "| quantity | float64 | reference | rel. error | digits | ulps | κ |",
                 "|---|---:|---:|---:|---:|---:|---:|"]
        for r in self.rows:
            lines.append(f"| {r.name} | {r.value!r} | {self._ref_text(r.reference)} | "
                         f"{r.error_text()} | {r.digits:.1f} | {r.ulps:.3g} | {r.kappa:.3g} |")
        lines += ["", f"**{self._verdict()}**"] + [f"\nnote: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def _repr_html_(self) -> str:
        """The table as HTML for notebooks (every cell escaped)."""
        head = ["quantity", "float64", "reference", "rel. error", "digits", "ulps", "κ"]
        body = [[r.name, repr(r.value), self._ref_text(r.reference), r.error_text(),
                 f"{r.digits:.1f}", f"{r.ulps:.3g}", f"{r.kappa:.3g}"] for r in self.rows]
        return html_table(head, body, caption=self._header(),
                          footer=[self._verdict()] + [f"note: {n}" for n in self.notes])

    def as_dict(self) -> dict:
        """The report as JSON-ready data (``symimplicit verify --format json``).

        Floats are numbers (NaN/inf as the strings 'nan'/'inf'); each row's
        ``reference`` is a decimal string with the reference's ``dps`` digits, so no
        digit is lost to a float64 parse.  ``params`` is the call order of ``at``.

        Examples
        ========

        >>> from symimplicit.parsing import parse
        >>> from symimplicit.precision import verify
        >>> data = verify(parse("x = cos(a*x + b)"), at={"a": 1, "b": 0}, dps=30).as_dict()
        >>> data["ok"], data["params"], [r["name"] for r in data["rows"]]
        (True, ['a', 'b'], ['x', '∂x/∂a', '∂x/∂b'])
        >>> data["rows"][0]["reference"]
        '0.739085133215160641655312087674'
        """
        st = self.statement
        rows = [{"name": r.name, "kind": r.kind, "value": json_number(r.value),
                 "reference": self._ref_text(r.reference, self.dps),
                 "rel_error": json_number(r.rel_error), "absolute": bool(r.absolute),
                 "digits": json_number(r.digits), "ulps": json_number(r.ulps),
                 "kappa": json_number(r.kappa), "bound": json_number(r.bound),
                 "tol": json_number(r.tol if self.tol is None else self.tol),
                 "ok": bool(r.ok(self.tol))} for r in self.rows]
        return {
            "target": self.target, "statement": repr(st), "kind": getattr(st, "kind", None),
            "unknowns": [s.name for s in getattr(st, "unknowns", ())],
            "params": [p.name for p in getattr(st, "params", ())],
            "at": {k: json_number(v) for k, v in self.at.items()},
            "dps": self.dps, "tol": json_number(self.tol), "kappa": json_number(self.kappa),
            "route_digits": json_number(self.route_digits), "suspect": self.suspect,
            "ok": self.ok, "digits": json_number(self.digits), "backend": self.backend,
            "start": self.start, "rows": rows, "notes": list(self.notes),
        }

    def to_json(self) -> str:
        """:meth:`as_dict` as strict JSON text."""
        return dumps(self.as_dict())

    def latex(self) -> str:
        """The table as a LaTeX ``array`` (renders in MathJax and in a document)."""
        rows = [r"\text{quantity} & \text{float64} & \text{reference} & "
                r"\text{rel. error} & \text{digits} & \kappa \\ \hline"]
        for r in self.rows:
            value, error = ((repr(r.value), _latex_sci(r.rel_error)) if r.finite
                            else (rf"\text{{{r.value!r}}}", r"\text{not finite}"))
            rows.append(f"{r.latex or r.name} & {value} & {self._ref_text(r.reference)} & "
                        f"{error} & {r.digits:.1f} & {r.kappa:.3g} \\\\")
        verdict = self._verdict().replace("κ", r"\kappa")
        return ("\\begin{array}{l|rrrrr}\n" + "\n".join(rows) + "\n\\end{array}"
                + f"\\\\ \\text{{{verdict}}}")

    def _repr_latex_(self) -> str:
        return f"$$\n{self.latex()}\n$$"


def _latex_sci(x: float) -> str:
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else r"\infty"
    exp = math.floor(math.log10(abs(x)))
    return f"{x / 10 ** exp:.1f} \\times 10^{{{exp}}}"


def derivative_latex(unknown: sp.Symbol, param: sp.Symbol | None = None) -> str:
    """∂x/∂a in LaTeX (x itself when ``param`` is None)."""
    if param is None:
        return sp.latex(unknown)
    return rf"\frac{{\partial {sp.latex(unknown)}}}{{\partial {sp.latex(param)}}}"
