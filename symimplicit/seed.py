"""The seed notebook's hand-written implicit layers, running on symimplicit.tape.

This is the baseline symimplicit is measured against (by ``symimplicit demo``,
``benchmarks/layers.py`` and the tests): the code of the seed notebook
(``shared/seed/``), verbatim but for two things a library must not do:
its ``print("Failed to converge")`` lines are ``RuntimeWarning`` warnings, and
``fpforward = iterativefixedpoint``, which the notebook omits, is defined.

Its two weaknesses are the point of comparison: every partial derivative is
written by hand, and the solves are loose (|Δx| ≤ 1e-7 for the fixed point,
|∂f/∂x| ≤ 1e-3 for the argmin), so the gradients are right to about 7 digits.
(The notebook's cells run unchanged, print lines and all, in tests/test_seed.py.)
"""
from __future__ import annotations

import warnings

from symimplicit.tape import Abs, Cos, Function, Plus, Pow, Scalar, Sum, Times, backward

__all__ = [
    "iterativefixedpoint", "fpforward", "fpbackward", "cosaxb", "SeedFixedPoint",
    "minimizeforward", "minimizebackward", "quadratic", "dquadraticdx", "SeedMinimize",
]


def _failed(message: str) -> None:
    warnings.warn(message, RuntimeWarning, stacklevel=3)


# -- fixed point x = fun(x, *args) ---------------------------------------------------------
def iterativefixedpoint(*args, fun=None, x0=0):
    ''' Find a fixed point x = fun(x,*args) by iterating until convergence

    Arguments:
        args -- List[Scalar] or List[float] arguments to fun
        fun -- the function
        x0 -- initial guess
    Returns:
        the fixed point, either as a Scalar or as a float
    '''
    eps = 1e-7
    oldx = Scalar(x0-1)
    x = Scalar(x0)
    isscalar = isinstance(args[0],Scalar)
    args = [a if isinstance(a,Scalar) else Scalar(a) for a in args]
    ii=0
    while ii<100 and Abs( Plus(x, Times(Scalar(-1), oldx)))>eps: # | x - oldx |
        oldx = x
        x = fun(x,*args)
        ii += 1
    if ii==100:
        _failed("Failed to converge")
    if isscalar:
        return x
    return x.value


def cosaxb(x, a, b):
    return Cos(Plus(b, Times(a,x)))


fpforward = iterativefixedpoint


def fpbackward(*args, fun=None, x0=0):
    x = fpforward(*args,fun=fun, x0=x0) #recompute forward b/c we didn't store it
    sargs = [Scalar(a) for a in args]
    sx = Scalar(x)
    v = fun(sx,*sargs)  # Put the solution into the function
    backward(v)         # compute the partial derivatives
    return [sa.grad / (1-sx.grad) for sa in sargs]


SeedFixedPoint = Function("FixedPoint", iterativefixedpoint, fpbackward)
"""The seed's ``FixedPoint``: ``SeedFixedPoint(a, b, fun=cosaxb)``."""


# -- argmin x = argmin_x fun(x, *args) ---------------------------------------------------
def minimizeforward(*args, fun=None, dfundx=None, x0=0, lr=0.1, max_iter=1000):
    x = x0
    ii=0
    notconverged = True
    eps = 1e-3
    while (ii<max_iter) and notconverged:
        ii+=1
        s_args = [Scalar(a) for a in args]
        s_x = Scalar(x)
        y = fun(s_x, *s_args)
        backward(y)
        x += -lr * s_x.grad
        notconverged = abs(s_x.grad)>eps
    if notconverged:
        _failed('minimizeforward Failed to converge')
    return x


def minimizebackward(*args, fun=None, dfundx=None, x0=0, lr=0.1, max_iter=1000):
    x = Scalar(minimizeforward(*args, fun=fun, dfundx=dfundx, x0=x0, lr=lr, max_iter=max_iter))
    s_args = [Scalar(a) for a in args]
    y = dfundx(x,*s_args)
    backward(y)
    if abs(x.grad)<1e-3:
        _failed('minimizebackward does not support functions with d^2f/dx^2 = 0')
    return [-a.grad / x.grad for a in s_args] # requires dfundx(x)!=0


def quadratic(x,a,b):
    return Sum(Times(a, Pow(x,p=2)), Times(b, x))


def dquadraticdx(x,a,b):
    return Sum(Times(a, Times(x,Scalar(2))), b)


SeedMinimize = Function("Minimize", minimizeforward, minimizebackward)
"""The seed's ``Minimize``: ``SeedMinimize(a, b, fun=quadratic, dfundx=dquadraticdx, x0=0)``."""
