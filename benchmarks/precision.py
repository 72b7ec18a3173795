"""verify() speed: the seed's fixed point x = cos(ax + b) at 50 and 1,000 digits.

    python benchmarks/precision.py            # active backend, then the other one
    python benchmarks/precision.py --single   # active backend only (used for the other)

Times ``verify(layer, at={a: 1, b: 0}, dps=...)`` (float64 layer on the tape, the
mpmath solve, the IFT reference and the Richardson reference) with mpmath's
integer backend as installed (``gmpy`` when gmpy2, the ``fast`` extra, is
present), then reruns itself in a subprocess with ``MPMATH_NOGMPY=1`` (the pure
Python backend) and prints the ratio.  Compilation (lambdify) is warmed up
first and not timed.  Times are the median of several runs.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

DPS = (50, 1000)


def measure(repeats: int = 7) -> dict:
    import mpmath
    import sympy as sp

    from symimplicit.precision import verify
    from symimplicit.statements import FixedPoint

    x, a, b = sp.symbols("x a b")
    statement = FixedPoint(sp.cos(a * x + b), x, (a, b))
    layer = statement.primitive()
    at = {a: 1.0, b: 0.0}
    verify(layer, at=at, dps=30)                              # compile, warm up
    out = {"backend": mpmath.libmp.BACKEND}
    for dps in DPS:
        times = []
        for _ in range(repeats if dps < 500 else 3):
            t = time.perf_counter()
            report = verify(layer, at=at, dps=dps)
            times.append(time.perf_counter() - t)
        out[str(dps)] = {"seconds": statistics.median(times), "digits": report.digits,
                         "route_digits": report.route_digits, "ok": report.ok}
    return out


def other_backend(active: str) -> dict | None:
    """Run this script with the other mpmath backend, when there is one to switch to."""
    env = dict(os.environ)
    if active == "gmpy":
        env["MPMATH_NOGMPY"] = "1"
    elif "MPMATH_NOGMPY" in env:
        del env["MPMATH_NOGMPY"]
    else:
        return None                                           # python backend, no gmpy2 here
    proc = subprocess.run([sys.executable, __file__, "--single", "--json"], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def show(result: dict) -> None:
    print(f"mpmath backend: {result['backend']}")
    for dps in DPS:
        r = result[str(dps)]
        print(f"  verify at {dps:>5} digits: {r['seconds'] * 1e3:8.1f} ms   "
              f"(float64 digits {r['digits']:.1f}, routes agree to {r['route_digits']:.0f}, "
              f"ok={r['ok']})")


def main(argv: list[str]) -> None:
    result = measure()
    if "--json" in argv:
        print(json.dumps(result))
        return
    show(result)
    if "--single" in argv:
        return
    other = other_backend(result["backend"])
    if other is None:
        print("gmpy2 is not installed: only the python backend was measured "
              "(pip install 'symimplicit[fast]')")
        return
    show(other)
    gmpy, python = (result, other) if result["backend"] == "gmpy" else (other, result)
    for dps in DPS:
        ratio = python[str(dps)]["seconds"] / gmpy[str(dps)]["seconds"]
        print(f"  gmpy speed-up at {dps:>5} digits: {ratio:.2f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
