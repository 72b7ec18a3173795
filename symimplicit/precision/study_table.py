"""The result of a sweep: named NumPy columns, a text table, CSV, and a two-panel plot."""
from __future__ import annotations

import csv
import math

import numpy as np

from symimplicit.errors import MissingDependencyError, OutputError
from symimplicit.precision.display import dumps, html_table, json_number, param_order_text
from symimplicit.precision.output import output_path
from symimplicit.precision.reference import EPS

__all__ = ["Study"]

HTML_ROWS = 60
"""Rows shown by ``Study._repr_html_`` before it elides the middle."""

ERROR_COLUMNS = ("implicit_error", "proved_error", "unrolled_error", "fd_error", "solution_error")


class Study:
    """Named columns of equal length (``study["kappa"]``, ``study.columns``).

    ``swept``: the parameter names (or ``"tol"``) that vary; ``statement``, ``dps``:
    what was studied and the reference's digits; ``notes``: points whose
    reference failed (their rows hold NaN); ``reasons``: row index -> why that row holds
    NaN or inf (printed under the table).

    Examples
    ========
    >>> from symimplicit.precision import Study
    >>> s = Study({"a": [0.5, 1.0], "kappa": [1.0, 2.0]}, swept=("a",))
    >>> s.columns, s["kappa"].tolist()
    (['a', 'kappa'], [1.0, 2.0])
    """

    def __init__(self, columns: dict, *, statement=None, swept=(), dps: int = 30, notes=(),
                 reasons=None):
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"Study columns differ in length: {lengths}")
        self._cols = {k: np.asarray(v) for k, v in columns.items()}
        self.statement = statement
        self.swept = list(swept)
        self.dps = dps
        self.notes = list(notes)
        self.reasons = dict(reasons or {})

    @property
    def columns(self) -> list[str]:
        return list(self._cols)

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self._cols[name]
        except KeyError:
            raise KeyError(f"no column {name!r}; the columns are {self.columns}") from None

    def __getattr__(self, name: str):
        cols = self.__dict__.get("_cols", {})
        if name in cols:
            return cols[name]
        raise AttributeError(name)

    def __len__(self) -> int:
        return len(next(iter(self._cols.values()), ()))

    def as_dict(self) -> dict:
        return dict(self._cols)

    # -- text ---------------------------------------------------------------------- #
    def table(self, columns=None) -> str:
        """A fixed-width text table of ``columns`` (default: all)."""
        names = list(columns or self.columns)
        cells = [[_fmt(self._cols[n][i], exact=n in self.swept) for n in names]
                 for i in range(len(self))]
        widths = [max([len(n)] + [len(c[k]) for c in cells]) for k, n in enumerate(names)]
        line = lambda row: "  ".join(c.rjust(w) for c, w in zip(row, widths))
        return "\n".join([line(names), line(["-" * w for w in widths])] + [line(c) for c in cells])

    def _title(self) -> str:
        return (f"Study of {self.statement!r} over {', '.join(self.swept)} "
                f"(mpmath {self.dps} digits, {len(self)} points)")

    def _reason_lines(self) -> list[str]:
        lines = []
        for k in sorted(self.reasons):
            where = ", ".join(f"{n}={_fmt(self._cols[n][k], exact=True)}" for n in self.swept
                              if n in self._cols)
            lines.append(f"row {k} ({where}): {self.reasons[k]}")
        return lines

    def _head_lines(self) -> list[str]:
        head = [self._title()]
        if self.statement is not None:
            head.append(param_order_text(self.statement))
        return head

    def __str__(self) -> str:
        return "\n".join(self._head_lines() + [self.table()] + self._reason_lines())

    def __repr__(self) -> str:
        return f"<Study over {self.swept}: {len(self)} points, columns {self.columns}>"

    def markdown(self) -> str:
        """The title, the parameters' call order, the table in Markdown, and why rows fail."""
        return "\n\n".join(self._head_lines() + [self._repr_markdown_()] + self._reason_lines())

    def _repr_markdown_(self) -> str:
        names = self.columns
        rows = ["| " + " | ".join(names) + " |", "|" + "---:|" * len(names)]
        rows += ["| " + " | ".join(_fmt(self._cols[n][i], n in self.swept) for n in names) + " |"
                 for i in range(len(self))]
        return "\n".join(rows)

    def _repr_html_(self) -> str:
        """The table as HTML for notebooks (every cell escaped); past HTML_ROWS rows,
        the first and last HTML_ROWS // 2 with a marker row between."""
        names = self.columns
        cell = lambda i: [_fmt(self._cols[n][i], n in self.swept) for n in names]
        N, half = len(self), HTML_ROWS // 2
        if N <= HTML_ROWS:
            body = [cell(i) for i in range(N)]
        else:
            body = ([cell(i) for i in range(half)] + [[f"… {N - 2 * half} rows …"] + [""] *
                    (len(names) - 1)] + [cell(i) for i in range(N - half, N)])
        return html_table(names, body, caption=self._head_lines(), footer=self._reason_lines(),
                          numeric_from=0)

    def as_dict(self) -> dict:
        """The study as JSON-ready data (``symimplicit study --format json``).

        ``columns``: name -> list of floats, one per point (NaN/inf as the strings
        'nan'/'inf'); ``params``: the statement's parameters in call order;
        ``reasons``: row index (as a string) -> why that row holds NaN or inf.

        Examples
        ========

        >>> from symimplicit.parsing import parse
        >>> from symimplicit.precision import study
        >>> s = study(parse("x = a*tanh(x)"), over={"a": [1.5, 2.0]}, dps=20, x0=1)
        >>> data = s.as_dict()
        >>> data["swept"], data["points"], data["columns"]["a"]
        (['a'], 2, [1.5, 2.0])
        """
        st = self.statement
        return {
            "statement": None if st is None else repr(st),
            "params": [p.name for p in getattr(st, "params", ())],
            "swept": list(self.swept), "dps": self.dps, "points": len(self),
            "columns": {n: [json_number(v) for v in self._cols[n]] for n in self.columns},
            "notes": list(self.notes),
            "reasons": {str(k): v for k, v in sorted(self.reasons.items())},
        }

    def to_json(self) -> str:
        """:meth:`as_dict` as strict JSON text."""
        return dumps(self.as_dict())

    def to_csv(self, path) -> None:
        """Write the columns as CSV (header = column names, full float precision)."""
        path = output_path(path, "the study's CSV")
        try:
            with open(path, "w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(self.columns)
                for i in range(len(self)):
                    w.writerow([repr(float(self._cols[n][i])) for n in self.columns])
        except OSError as exc:
            raise OutputError(f"cannot write the study's CSV to {str(path)!r}: "
                              f"{exc.strerror or exc}", path=str(path)) from None

    # -- plot ----------------------------------------------------------------------- #
    def plot(self, path, x: str | None = None) -> None:
        """A PNG: log error against the parameter ``x`` (default the first swept one),
        and against κ with the κ·2⁻⁵³ line.  Needs matplotlib (the ``plot`` extra)."""
        try:
            import matplotlib
            matplotlib.use("Agg", force=False)
            from matplotlib.figure import Figure
        except ImportError:
            raise MissingDependencyError("matplotlib", extra="plot",
                                         purpose="Study.plot") from None
        path = output_path(path, "the study's plot")
        xname = x or (self.swept[0] if self.swept else self.columns[0])
        errors = [n for n in ERROR_COLUMNS if n in self._cols
                  and np.any(np.isfinite(self._cols[n]) & (self._cols[n] > 0))]
        fig = Figure(figsize=(10, 4))
        left, right = fig.subplots(1, 2)
        xv = self._cols[xname]
        for n in errors:
            left.plot(xv, _positive(self._cols[n]), marker="o", ms=3, label=n)
        left.set_yscale("log")
        if np.all(xv > 0) and xv.max() / xv.min() > 100:
            left.set_xscale("log")
        left.set_xlabel(xname)
        left.set_ylabel("relative error vs mpmath")
        left.legend(fontsize=8)
        if "kappa" in self._cols and np.any(np.isfinite(self._cols["kappa"])):
            k = self._cols["kappa"]
            order = np.argsort(k)
            for n in errors:
                right.loglog(k[order], _positive(self._cols[n][order]), marker="o", ms=3, label=n)
            right.loglog(k[order], k[order] * EPS, "k--", label="κ·2⁻⁵³")
            right.set_xlabel("κ")
            right.set_ylabel("relative error vs mpmath")
            right.legend(fontsize=8)
        fig.suptitle(f"{self.statement!r}"[:100], fontsize=9)
        fig.tight_layout()
        fig.savefig(path, dpi=100, format="png")


def _positive(values: np.ndarray) -> np.ndarray:
    """Zeros cannot sit on a log axis: show them at the float64 floor 2⁻⁵³·1e-3."""
    v = np.asarray(values, dtype=float).copy()
    v[v == 0] = EPS * 1e-3
    return v


def _fmt(v, exact: bool = False) -> str:
    """A cell: swept parameters in full (shortest repr), measures to 4 significant digits."""
    v = float(v)
    if not math.isfinite(v):
        return repr(v)                                        # nan, inf, -inf
    if exact:
        return repr(v)
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.4g}" if 1e-3 <= abs(v) < 1e6 else f"{v:.3e}"
