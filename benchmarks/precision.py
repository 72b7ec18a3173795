"""verify() and certify() speed: the seed's fixed point x = cos(ax + b) at 50 and 1,000 digits.

    python benchmarks/precision.py            # active backend, then the other one
    python benchmarks/precision.py --single   # active backend only (used for the other)

(and, with the active backend, certify / verify on five catalog problems)

Times ``verify(layer, at={a: 1, b: 0}, dps=...)`` (float64 layer on the tape, the
mpmath solve, the IFT reference and the Richardson reference) with mpmath's
integer backend as installed (``gmpy`` when gmpy2, the ``fast`` extra, is
present), and ``certify(layer, at=..., dps=...)`` (the float64 layer, an mpmath
Newton point, Krawczyk's interval proof and the interval linear system of the
gradient) at the same digits, printing certify / verify; then reruns itself in a subprocess with ``MPMATH_NOGMPY=1`` (the pure
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

    from symimplicit.precision import certify, verify
    from symimplicit.statements import FixedPoint

    x, a, b = sp.symbols("x a b")
    statement = FixedPoint(sp.cos(a * x + b), x, (a, b))
    layer = statement.primitive()
    at = {a: 1.0, b: 0.0}
    verify(layer, at=at, dps=30)                              # compile, warm up
    certify(layer, at=at, dps=30)
    out = {"backend": mpmath.libmp.BACKEND}
    for dps in DPS:
        times = []
        for _ in range(repeats if dps < 500 else 3):
            t = time.perf_counter()
            report = verify(layer, at=at, dps=dps)
            times.append(time.perf_counter() - t)
        certify_times = []
        for _ in range(repeats if dps < 500 else 3):
            t = time.perf_counter()
            cert = certify(layer, at=at, dps=dps)
            certify_times.append(time.perf_counter() - t)
        out[str(dps)] = {"seconds": statistics.median(times), "digits": report.digits,
                         "route_digits": report.route_digits, "ok": report.ok,
                         "certify_seconds": statistics.median(certify_times),
                         "proved_digits": cert.proved_digits, "certified": cert.ok,
                         "width": mpmath.nstr(max(r.relative_width for r in cert.rows), 2)}
    return out


def catalog_ratios(dps: int = 50, repeats: int = 3) -> list:
    """certify / verify on the issue's targets (cos fixed point, Kepler, Lambert W, a
    2-unknown system, a constrained argmin), each warmed up once, medians of ``repeats``."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
    from catalog import BY_NAME

    from symimplicit.precision import certify, verify

    rows = []
    for name in ("seed_fixed_point", "kepler", "lambert_w", "circle_exp", "ellipse_projection"):
        problem = BY_NAME[name]
        layer = problem.statement.primitive(**problem.options)
        at = dict(zip(problem.statement.params, problem.values))
        verify(layer, at=at, dps=dps), certify(layer, at=at, dps=dps)      # compile, warm up
        tv, tc = [], []
        for _ in range(repeats):
            t = time.perf_counter()
            verify(layer, at=at, dps=dps)
            tv.append(time.perf_counter() - t)
            t = time.perf_counter()
            cert = certify(layer, at=at, dps=dps)
            tc.append(time.perf_counter() - t)
        rows.append((name, statistics.median(tv), statistics.median(tc), cert.proved_digits,
                     max(r.relative_width for r in cert.rows), cert.ok))
    return rows


def show_catalog(rows: list, dps: int = 50) -> None:
    import mpmath

    print(f"certify vs verify at {dps} digits on the issue's targets (active backend):")
    for name, tv, tc, digits, width, ok in rows:
        print(f"  {name:<20} verify {tv * 1e3:7.1f} ms  certify {tc * 1e3:7.1f} ms  "
              f"certify / verify = {tc / tv:5.2f}x  (proved digits {digits:.1f}, relative "
              f"width {mpmath.nstr(width, 2)}, ok={ok})")


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
        print(f"  certify at {dps:>5} digits: {r['certify_seconds'] * 1e3:7.1f} ms   "
              f"(proved digits {r['proved_digits']:.1f}, relative width "
              f"{r['width']}, ok={r['certified']}); certify / verify = "
              f"{r['certify_seconds'] / r['seconds']:.2f}x")


def main(argv: list[str]) -> None:
    result = measure()
    if "--json" in argv:
        print(json.dumps(result))
        return
    show(result)
    if "--single" in argv:
        return
    show_catalog(catalog_ratios())
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
