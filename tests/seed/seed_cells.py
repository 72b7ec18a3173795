# The seed notebook's code cells (../shared/seed/), verbatim but for the import
# lines, for tests/test_seed.py.  Two notebook facts a script lacks are supplied:
# ``fpforward = iterativefixedpoint`` (the notebook omits it) and ``display``
# (IPython's), which the test injects into the namespace before running this.
from typing import Union, List, Any
from symimplicit.tape import Scalar, Function, trace, backward, reset_grad
from symimplicit.tape import Abs, Cos, Plus, Times, Sum, Pow

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
        print("Failed to converge")
    if isscalar:
        return x
    return x.value

def cosaxb(x, a, b):
    return Cos(Plus(b, Times(a,x)))
    
a = Scalar(1)
b = Scalar(0)
x = iterativefixedpoint(a, b, fun=cosaxb)
print(f'{x=}')
print(f'{len(trace(x))=}')
backward(x)
print(f'{a.grad=}, {b.grad=}')

print('')

a = Scalar(-0.5)
b = Scalar(0.5)
x = iterativefixedpoint(a, b, fun=cosaxb)
print(f'{x=}')
print(f'{len(trace(x))=}')
backward(x)
print(f'{a.grad=}, {b.grad=}')

def fpbackward(*args, fun=None, x0=0):
    x = fpforward(*args,fun=fun, x0=x0) #recompute forward b/c we didn't store it
    sargs = [Scalar(a) for a in args]
    sx = Scalar(x)
    v = fun(sx,*sargs)  # Put the solution into the function
    backward(v)         # compute the partial derivatives
    return [sa.grad / (1-sx.grad) for sa in sargs]


FixedPoint = Function("FixedPoint", iterativefixedpoint, fpbackward)

a = Scalar(1)
b = Scalar(0)
x = FixedPoint(a,b,fun=cosaxb)
print(f'{trace(x)=}')
backward(x)
print(f'{a.grad=}, {b.grad=}')

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
        print('minimizeforward Failed to converge')
    return x

def minimizebackward(*args, fun=None, dfundx=None, x0=0, lr=0.1, max_iter=1000):
    x = Scalar(minimizeforward(*args, fun=fun, dfundx=dfundx, x0=x0, lr=lr, max_iter=max_iter))
    s_args = [Scalar(a) for a in args]
    y = dfundx(x,*s_args)
    backward(y)
    if abs(x.grad)<1e-3:
        print('minimizebackward does not support functions with d^2f/dx^2 = 0')
    return [-a.grad / x.grad for a in s_args] # requires dfundx(x)!=0
    
def quadratic(x,a,b):
    return Sum(Times(a, Pow(x,p=2)), Times(b, x))

def dquadraticdx(x,a,b):
    return Sum(Times(a, Times(x,Scalar(2))), b)
    
minimizeforward(1,0,fun=quadratic,dfundx=None,x0=0)
Minimize = Function("Minimize", minimizeforward, minimizebackward)

a = Scalar(1)
b = Scalar(0)
x = Minimize(a,b,fun=quadratic,dfundx=dquadraticdx, x0=0.1)
print(x)
backward(x)
display(trace(x))

a = Scalar(2)
b = Scalar(-1)
x = Minimize(a,b,fun=quadratic,dfundx=dquadraticdx, x0=1, lr=0.1, max_iter=1000)
print(x)
backward(x)
display(trace(x))

import random
random.seed(314)
truea = 1 + random.random()
print(f'{a=}')
N = 100
bs = [2*random.random()-1 for _ in range(N)]
xs = [minimizeforward(truea,b,fun=quadratic) for b in bs]

ahat = 1.5
notconverged = True
ii = 0 
lr = 0.05
while ii<1000 and notconverged:
    sa = Scalar(ahat)
    sbs = [Scalar(b) for b in bs]
    sxs = [Scalar(x) for x in xs]
    xhats = [Minimize(sa,sb,fun=quadratic,dfundx=dquadraticdx, x0=0, lr=0.1, max_iter=1000) for sb in sbs]
    loss = Sum(*[Pow(Plus(xhat,Times(Scalar(-1),Scalar(x))),p=2) for xhat,x in zip(xhats,xs)])
    backward(loss)
    ahat += -lr * sa.grad
    print(f'{ahat=}, {loss.value=}')
    if abs(sa.grad)<1e-4:
        notconverged=False
    ii+=1
if notconverged:
    print("Failed to converge")
