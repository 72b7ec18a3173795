"""The ``symimplicit certify`` subcommand: digits proved by interval arithmetic.

    symimplicit certify TEXT --at a=1,b=0 [--unknown X] [--dps 50] [--x0 V] [--tol T]
                        [--wrt a,a ...] [--format text|markdown|latex|json]

Exit status: 0 when every enclosure is proved and every float64 value proved within
tolerance, 1 when not (the report says why), 2 on bad input (like ``verify``).
Registered by :mod:`symimplicit.cli` through :func:`add_parser` and :func:`run`.
"""
from __future__ import annotations

import argparse
import json
import sys

__all__ = ["add_parser", "run"]

EPILOG = """examples:
  symimplicit certify "x = cos(a*x + b)" --at a=1,b=0
  symimplicit certify "E - e*sin(E) - M" --unknown E --at e=0.3,M=1.1 --x0 1 --format json
  symimplicit certify "x = a*tanh(x)" --at a=1.001 --x0 0.1 --wrt a,a

exit status: 0 when every value is proved within tolerance, 1 when not (a failed
enclosure, or digits not proved), 2 on an error."""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``certify`` to the ``symimplicit`` subparsers (with the statement options)."""
    from symimplicit.cli import _statement_options

    parser = subparsers.add_parser(
        "certify", parents=[_statement_options()],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="prove enclosures of the solution and gradient by interval arithmetic",
        description="Solve in float64 on the tape, then prove by interval arithmetic "
                    "(mpmath.iv, Krawczyk) an enclosure of the root and of each derivative, "
                    "and how many digits of the float64 values are correct.", epilog=EPILOG)
    parser.add_argument("--at", required=True, metavar="A=1,B=0",
                        help="the parameter values (numbers or expressions such as pi/4)")
    parser.add_argument("--dps", type=int, default=50, help="digits of the interval arithmetic (50)")
    parser.add_argument("--x0", metavar="V", help="initial guess (comma-separated for vectors)")
    parser.add_argument("--tol", type=float, help="relative error to prove (default: from κ)")
    parser.add_argument("--wrt", action="append", default=[], metavar="A,A",
                        help="also enclose a higher derivative, e.g. a,a for ∂²x/∂a² (repeat)")
    parser.add_argument("--format", "-f", choices=("text", "markdown", "latex", "json"),
                        default="text", help="output format (default: text)")
    return parser


def run(args, out=None) -> int:
    """Run ``symimplicit certify`` with parsed ``args``; returns the exit status (0 or 1)."""
    from symimplicit.cli import CliError, _assignments, _names, _statement, _x0
    from symimplicit.precision import certify

    out = sys.stdout if out is None else out
    statement = _statement(args)
    options = {} if args.x0 is None else {"x0": _x0(args.x0)}
    wrt = [tuple(_names(w, "--wrt")) for w in args.wrt]
    if args.dps < 15:
        raise CliError(f"--dps must be at least 15 (float64's precision), got {args.dps}")
    report = certify(statement, at=_assignments(args.at, "--at"), dps=args.dps, tol=args.tol,
                     wrt=wrt, **options)
    if args.format == "json":
        text = json.dumps(report.as_dict(), indent=2, ensure_ascii=False)
    else:
        text = {"text": str, "markdown": lambda r: r.markdown(),
                "latex": lambda r: r.latex()}[args.format](report)
    out.write(text.rstrip("\n") + "\n")
    return 0 if report.ok else 1
