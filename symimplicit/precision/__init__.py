"""symimplicit.precision: mpmath judges.

* :func:`verify` — a float64 solution and gradient against an mpmath reference
  computed two independent ways (the IFT at high precision, and
  Richardson-extrapolated differences of the high-precision solution map);
  returns a :class:`VerifyReport` (digits correct, ulps, κ, a verdict).
* :func:`certify` — the same targets, *proved*: interval enclosures (mpmath.iv,
  Krawczyk) of the solution and its derivatives and the digits of the float64
  values they prove; returns a :class:`CertifyReport` (docs/certify.md).
* :func:`study` — stability sweeps over parameters (κ, implicit / unrolled /
  finite-difference gradient errors), returning a :class:`Study`;
  :func:`tolerance_study` — the same errors against the solver tolerance.

Optional dependencies (matplotlib for plots, tqdm for progress bars, dask for
distributed sweeps, gmpy2 for speed) are imported only when used.  See
docs/precision.md for the definitions (κ, errors, tolerances).
"""
from symimplicit.precision.certify import certify
from symimplicit.precision.certify_report import CertifyReport
from symimplicit.precision.mpsolve import MpProblem, backend, problem_of
from symimplicit.precision.reference import Reference, reference
from symimplicit.precision.report import VerifyReport, default_tol
from symimplicit.precision.study import study, tolerance_study, unrolled_gradient
from symimplicit.precision.study_table import Study
from symimplicit.precision.verify import verify

__all__ = ["verify", "certify", "CertifyReport", "VerifyReport", "default_tol", "study",
           "tolerance_study", "Study",
           "unrolled_gradient", "MpProblem", "problem_of", "backend", "Reference", "reference"]
