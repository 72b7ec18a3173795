"""The ``symimplicit`` command (also ``python -m symimplicit``).

    symimplicit derive TEXT --unknown X [--params a,b] [--order N | --wrt a,a,b]
                       [--format text|latex|markdown|json] [--document] [--pdf FILE]
    symimplicit verify TEXT --unknown X --at a=1,b=0 [--dps 50] [--x0 V]
                       [--format text|markdown|latex|json]
    symimplicit study  TEXT --unknown X --over a=0.5:1.5:101[:log] [--at b=0] [--plot FILE.png]
                       [--csv FILE] [--workers N] [--progress] [--format text|markdown|json]
    symimplicit certify TEXT --unknown X --at a=1,b=0 [--dps 50] [--format json]
    symimplicit demo   (also: symimplicit with no arguments)

TEXT is read from standard input when it is ``-``.  Errors (bad text, bad options,
anything symimplicit raises) print one line ``symimplicit: error: ...`` on stderr and
exit with status 2; a verify that fails exits with status 1.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

__all__ = ["main", "build_parser", "CliError"]

PROG = "symimplicit"


class CliError(Exception):
    """A usage error found after argparse (a malformed --at, --over, --x0 ...)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit status 2), never usage + trace."""

    def error(self, message):
        raise CliError(f"{message} (see '{self.prog} --help')")


# --------------------------------------------------------------------------- #
# the parser                                                                    #
# --------------------------------------------------------------------------- #
_EPILOG = {
    "derive": """examples:
  symimplicit derive "x = cos(a*x + b)"
  symimplicit derive "E - e*sin(E) - M" --unknown E --order 2 --format latex
  symimplicit derive "a*x^2 + b*x" --unknown x --minimize --format json
  symimplicit derive "x^2 + y^2 - r^2; y - exp(k*x)" --unknown x,y --pdf circle.pdf
  echo "x = cos(a*x + b)" | symimplicit derive - --format markdown""",
    "verify": """examples:
  symimplicit verify "x = cos(a*x + b)" --at a=1,b=0
  symimplicit verify "E - e*sin(E) - M" --unknown E --at e=0.3,M=1.1 --x0 1 --dps 80
  symimplicit verify "x = cos(a*x + b)" --at a=1,b=0 --format json

exit status: 0 when every value is within tolerance, 1 when not, 2 on an error.""",
    "study": """examples:
  symimplicit study "x = a*tanh(x)" --over a=1.01:2:50 --x0 1 --plot tanh.png
  symimplicit study "x = cos(a*x + b)" --over a=0.5:1.5:101 --at b=0 --workers 2
  symimplicit study "x = a*tanh(x)" --over a=1.000001:2:40:log --x0 1 --format json""",
    "demo": """The seed's fixed point x = cos(ax + b): its derivation, the gradient of the
implicit tape primitive, and three gradients (ours, the seed's unrolled loop, the
seed's hand-written FixedPoint) judged against mpmath.""",
}


def _statement_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("text", metavar="TEXT",
                        help="the problem, e.g. 'x = cos(a*x + b)' (a fixed point), "
                             "'E - e*sin(E) - M' (a root, = 0 implied), equations separated "
                             "by ';' for vector unknowns; '-' reads it from stdin")
    common.add_argument("--unknown", "-u", metavar="X",
                        help="the unknown, or several separated by commas (inferred from "
                             "'x = ...' when omitted)")
    common.add_argument("--params", "-p", metavar="A,B",
                        help="the parameters in order (default: the other symbols, by name)")
    kind = common.add_mutually_exclusive_group()
    kind.add_argument("--kind", choices=("root", "fixed_point", "minimize"),
                      help="what the text states (default: inferred)")
    kind.add_argument("--minimize", action="store_const", const="minimize", dest="kind",
                      help="the text is an objective: x = argmin f (same as --kind minimize)")
    common.add_argument("--constraint", "-c", action="append", default=[], metavar="G",
                        help="a constraint of a --minimize problem: g = 0 (or 'lhs = rhs'), "
                             "or an inequality 'h <= 0', 'x >= lo', 'lo <= x <= hi'; repeat "
                             "for several")
    return common


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``symimplicit`` command."""
    from symimplicit import __version__

    parser = _Parser(prog=PROG, description="Implicit differentiation: SymPy derives, a numeric "
                     "tape runs, mpmath judges.  With no arguments: the demo.",
                     formatter_class=argparse.RawDescriptionHelpFormatter,
                     epilog="run 'symimplicit COMMAND --help' for a command's options")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    common = _statement_options()
    raw = argparse.RawDescriptionHelpFormatter

    derive = sub.add_parser("derive", parents=[common], formatter_class=raw,
                            help="the derivatives and their step-by-step derivation",
                            description="Derive the implicit derivatives of the unknown with "
                            "respect to the parameters, step by step.", epilog=_EPILOG["derive"])
    order = derive.add_mutually_exclusive_group()
    order.add_argument("--order", "-n", type=int, default=1, metavar="N",
                       help="derivatives up to order N with respect to each parameter")
    order.add_argument("--wrt", metavar="A,A,B", action="append",
                       help="one (mixed) derivative, e.g. a,a,b for ∂³x/∂a²∂b, with its chain")
    derive.add_argument("--format", "-f", choices=("text", "latex", "markdown", "json"),
                        help="output format (default: text; with --pdf, none unless given)")
    derive.add_argument("--document", action="store_true",
                        help="with --format latex: a standalone document, not an align*")
    derive.add_argument("--pdf", metavar="FILE", help="also compile the derivation to a PDF "
                        "(needs pdflatex: Debian package texlive-latex-base)")
    derive.add_argument("--active", action="append", metavar="H", help="an active inequality "
                        "(its text as given, or its index); repeat for several; 'none' for none")

    verify = sub.add_parser("verify", parents=[common], formatter_class=raw,
                            help="judge the float64 solution and gradient against mpmath",
                            description="Solve in float64 on the tape, differentiate with the "
                            "implicit primitive, and compare with an mpmath reference.",
                            epilog=_EPILOG["verify"])
    verify.add_argument("--at", required=True, metavar="A=1,B=0",
                        help="the parameter values (numbers or expressions such as pi/4)")
    verify.add_argument("--dps", type=int, default=50, help="digits of the reference (50)")
    verify.add_argument("--x0", metavar="V", help="initial guess (comma-separated for vectors)")
    verify.add_argument("--tol", type=float, help="relative error allowed (default: from κ)")
    verify.add_argument("--format", "-f", choices=("text", "markdown", "latex", "json"),
                        default="text", help="output format (default: text)")

    study = sub.add_parser("study", parents=[common], formatter_class=raw,
                           help="sweep parameters: κ and gradient errors against mpmath",
                           description="Sweep parameters; at each point the condition κ and "
                           "the errors of the implicit, unrolled and finite-difference gradients.",
                           epilog=_EPILOG["study"])
    study.add_argument("--over", action="append", required=True, metavar="A=LO:HI:N[:log]",
                       help="a swept parameter: N points from LO to HI, evenly spaced, or "
                            "log-spaced with ':log' (LO, HI > 0); repeat for a grid")
    study.add_argument("--at", metavar="B=0", help="values of the other parameters")
    study.add_argument("--dps", type=int, default=30, help="digits of the reference (30)")
    study.add_argument("--x0", metavar="V", help="initial guess (comma-separated for vectors)")
    study.add_argument("--plot", metavar="FILE.png", help="write the error plot (matplotlib)")
    study.add_argument("--csv", metavar="FILE", help="write the table as CSV")
    study.add_argument("--workers", type=int, default=1, metavar="N",
                       help="processes for the mpmath references (default 1: in-process)")
    study.add_argument("--progress", action="store_true", default=None,
                       help="show a progress bar on stderr (default: when stderr is a terminal)")
    study.add_argument("--format", "-f", choices=("text", "markdown", "json"), default="text",
                       help="output format (default: text)")

    from symimplicit.cli_certify import add_parser as add_certify
    add_certify(sub)                                         # symimplicit certify (cli_certify.py)
    sub.add_parser("demo", formatter_class=raw, help="the main job on the seed's fixed point",
                   description="The main job on the seed's fixed point.", epilog=_EPILOG["demo"])
    return parser


# --------------------------------------------------------------------------- #
# option values                                                                 #
# --------------------------------------------------------------------------- #
def _names(value: str | None, option: str) -> list[str] | None:
    if value is None:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        raise CliError(f"{option} is empty")
    return names


def _number(text: str, option: str) -> float:
    """A number, or a constant expression such as pi/4 (parsed safely, never eval'd)."""
    from symimplicit.parsing import parse_expression

    expr = parse_expression(text.strip())
    if expr.free_symbols:
        raise CliError(f"{option}: {text.strip()!r} is not a number")
    try:
        return float(expr.evalf(30))           # correctly rounded (pi/3, not math.pi/3)
    except (TypeError, ValueError):
        raise CliError(f"{option}: {text.strip()!r} is not a real number") from None


def _assignments(value: str | None, option: str) -> dict[str, float]:
    """'a=1,b=pi/2' -> {'a': 1.0, 'b': 1.5707...}."""
    out: dict[str, float] = {}
    for item in (value or "").split(","):
        if not item.strip():
            continue
        name, eq, number = item.partition("=")
        if not eq or not name.strip().isidentifier():
            raise CliError(f"{option} expects NAME=VALUE pairs separated by commas, "
                           f"got {item.strip()!r}")
        out[name.strip()] = _number(number, option)
    return out


_SPACINGS = ("lin", "log")


def _sweep(items: list[str]) -> dict[str, object]:
    """['a=0.5:1.5:101'] -> {'a': linspace(0.5, 1.5, 101)}; 'a=1e-6:1:50:log' -> geomspace."""
    import numpy as np

    from symimplicit.precision.limits import MAX_STUDY_POINTS

    out = {}
    for item in items:
        name, eq, spec = item.partition("=")
        parts = spec.split(":")
        spacing = parts.pop().strip().lower() if len(parts) == 4 else "lin"
        if not eq or not name.strip().isidentifier() or len(parts) != 3:
            raise CliError(f"--over expects NAME=LO:HI:N or NAME=LO:HI:N:log, got {item!r}")
        if spacing not in _SPACINGS:
            raise CliError(f"--over: the spacing {spacing!r} in {item!r} is not 'lin' or 'log'")
        lo, hi = (_number(p, "--over") for p in parts[:2])
        try:
            n = int(parts[2])
        except ValueError:
            raise CliError(f"--over: the number of points {parts[2]!r} is not an integer") \
                from None
        if n < 1:
            raise CliError(f"--over: need at least one point, got {n}")
        if n > MAX_STUDY_POINTS:
            raise CliError(f"--over: {n} points exceed the limit of {MAX_STUDY_POINTS} "
                           "(each point is a high-precision solve)")
        if spacing == "log" and not (lo > 0 and hi > 0):
            raise CliError(f"--over: log spacing needs positive ends, got {lo!r} and {hi!r} "
                           f"in {item!r}")
        if spacing == "log":                                 # log θ evenly spaced, ends exact
            values = np.geomspace(lo, hi, n)
            values[0], values[-1] = lo, hi
        else:
            values = np.linspace(lo, hi, n)
        out[name.strip()] = values
    return out


def _x0(value: str | None):
    if value is None:
        return None
    values = [_number(v, "--x0") for v in value.split(",")]
    return values[0] if len(values) == 1 else values


def _read_text(text: str) -> str:
    if text == "-":
        text = sys.stdin.read()
    if not text.strip():
        raise CliError("the problem text is empty")
    return text.strip()


def _statement(args):
    from symimplicit.errors import StatementError
    from symimplicit.parsing import parse

    unknown = _names(args.unknown, "--unknown")
    if unknown is not None and len(unknown) == 1:
        unknown = unknown[0]
    constraints = list(args.constraint)
    if constraints and args.kind != "minimize":
        raise CliError("--constraint needs --minimize")
    try:
        return parse(_read_text(args.text), unknown=unknown,
                     params=_names(args.params, "--params"), kind=args.kind,
                     constraints=constraints)
    except StatementError as exc:
        if unknown is None and str(exc).startswith("cannot tell which symbol is the unknown"):
            raise CliError("cannot tell which symbol is the unknown: pass --unknown X") from None
        raise


# --------------------------------------------------------------------------- #
# the commands                                                                  #
# --------------------------------------------------------------------------- #
def _check_order(args) -> None:
    """--order / --wrt within the derivation's MAX_ORDER, checked before any work."""
    from symimplicit.derive import MAX_ORDER

    if args.wrt:
        if len(args.wrt) > 1:
            raise CliError(f"--wrt given {len(args.wrt)} times; give one mixed derivative as "
                           "--wrt a,a,b")
        names = _names(args.wrt[0], "--wrt")
        if len(names) > MAX_ORDER:
            raise CliError(f"--wrt asks for a derivative of order {len(names)}; at most "
                           f"{MAX_ORDER}")
        return
    if not 1 <= args.order <= MAX_ORDER:
        raise CliError(f"--order must be between 1 and {MAX_ORDER}, got {args.order}")


def _requests(args, derivation) -> list[tuple]:
    """The derivatives asked for, as tuples of parameters."""
    params = derivation.statement.params
    if args.wrt:
        names = _names(args.wrt[0], "--wrt")
        known = {p.name for p in params}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise CliError(f"--wrt: {', '.join(unknown)} not among the parameters "
                           f"{', '.join(sorted(known)) or '(none)'}")
        return [tuple(names)]
    return [(p,) * k for k in range(1, args.order + 1) for p in params]


def _outputs(args, *options: str) -> None:
    """Every output file option's directory exists (checked before any work)."""
    from symimplicit.precision.output import output_path

    for option in options:
        path = getattr(args, option, None)
        if path:
            output_path(path, f"--{option}")


def _derive(args, out) -> int:
    from symimplicit.precision.display import param_order_text
    from symimplicit.report import derivation_text, markdown
    from symimplicit.report.summary import derivation_summary

    _check_order(args)
    _outputs(args, "pdf")
    statement = _statement(args)
    active = args.active and [int(a) if a.isdigit() else a for a in args.active if a != "none"]
    if args.active is None and getattr(statement, "inequalities", ()):
        from symimplicit.errors import StatementError
        names = ", ".join(f"[{c.index}] {c.source}" for c in statement.inequalities)
        raise StatementError(f"the problem has inequality constraints ({names}): its derivative "
                             "depends on which are active; name them with --active H (the "
                             "text as given or its index; repeat for several; --active none "
                             "for none); 'symimplicit verify' picks them from the solution")
    d = statement.derive() if args.active is None else statement.derive(active=active)
    requests = _requests(args, d)
    for wrt in requests:
        d.derivative(*wrt)
    options = {"wrt": requests[0]} if args.wrt else {}
    fmt = args.format or (None if args.pdf else "text")     # --pdf alone: no text dump
    if fmt == "json":
        out.write(json.dumps(derivation_summary(d, requests), indent=2) + "\n")
    elif fmt == "latex":
        out.write(d.latex(document=args.document, **options) + "\n")
    elif fmt == "markdown":
        out.write(param_order_text(statement) + "\n\n" + markdown(d, **options))
    elif fmt == "text":
        out.write(param_order_text(statement) + "\n\n"
                  + derivation_text(d, wrt=options.get("wrt")))
    if args.pdf:
        path = d.pdf(args.pdf, **options)
        sys.stderr.write(f"{PROG}: wrote {path}\n")
    return 0


def _verify(args, out) -> int:
    from symimplicit.precision import verify
    from symimplicit.precision.limits import check_dps

    check_dps(args.dps, "--dps")
    statement = _statement(args)
    options = {} if args.x0 is None else {"x0": _x0(args.x0)}
    report = verify(statement, at=_assignments(args.at, "--at"), dps=args.dps, tol=args.tol,
                    **options)
    text = {"text": str, "markdown": lambda r: r.markdown(), "latex": lambda r: r.latex(),
            "json": lambda r: r.to_json()}
    out.write(text[args.format](report).rstrip("\n") + "\n")
    return 0 if report.ok else 1


def _study(args, out) -> int:
    from concurrent.futures import ProcessPoolExecutor

    from symimplicit.precision import study
    from symimplicit.precision.limits import check_dps

    check_dps(args.dps, "--dps")
    _outputs(args, "csv", "plot")
    statement = _statement(args)
    options = {} if args.x0 is None else {"x0": _x0(args.x0)}
    progress = args.progress if args.progress is not None else sys.stderr.isatty()
    if args.workers < 1:
        raise CliError(f"--workers must be at least 1, got {args.workers}")
    over, at = _sweep(args.over), _assignments(args.at, "--at")
    if args.workers > 1:
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            result = study(statement, over=over, at=at, dps=args.dps, executor=pool,
                           progress=progress, **options)
    else:
        result = study(statement, over=over, at=at, dps=args.dps, progress=progress, **options)
    text = {"text": str, "markdown": lambda r: r.markdown(), "json": lambda r: r.to_json()}
    out.write(text[args.format](result).rstrip("\n") + "\n")
    if args.csv:
        result.to_csv(args.csv)
        sys.stderr.write(f"{PROG}: wrote {args.csv}\n")
    if args.plot:
        result.plot(args.plot)
        sys.stderr.write(f"{PROG}: wrote {args.plot}\n")
    return 0


def _demo(args, out) -> int:
    from symimplicit.report.demo import run_demo

    out.write(run_demo())
    return 0


def _one_line(exc: Exception) -> str:
    """The first line of an error's message; a ParseError names the text it refers to."""
    from symimplicit.errors import ParseError

    message = " ".join(str(exc).split("\n")[0].split()).rstrip(":")
    text = getattr(exc, "text", None)
    if isinstance(exc, ParseError) and text and len(text) <= 80 and "\n" not in text:
        message += f" in {text!r}"
    return message


def _certify(args, out) -> int:
    from symimplicit.cli_certify import run
    return run(args, out)


_COMMANDS = {"derive": _derive, "verify": _verify, "study": _study, "certify": _certify,
             "demo": _demo}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 verify failed, 2 error)."""
    from symimplicit.errors import SymimplicitError

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv or ["demo"])
        return _COMMANDS[args.command or "demo"](args, sys.stdout)
    except (CliError, SymimplicitError) as exc:
        sys.stderr.write(f"{PROG}: error: {_one_line(exc)}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130


if __name__ == "__main__":                                   # pragma: no cover
    sys.exit(main())
