"""The JAX path of matrix statements: ``lower(sizes).to_jax()`` with a custom_vjp of the derived
formulas, against the numpy path and the entry-wise mpmath truth."""
import mpmath as mp
import numpy as np
import pytest
import sympy as sp

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

from symimplicit.errors import ConvergenceError, StatementError          # noqa: E402
from symimplicit.matrix import MatrixFixedPoint, MatrixMinimize, MatrixRoot, quad   # noqa: E402
from symimplicit.matrix.entrywise import entrywise_reference, expand    # noqa: E402

n = sp.Symbol("n")
W, z, b = sp.MatrixSymbol("W", n, n), sp.MatrixSymbol("z", n, 1), sp.MatrixSymbol("b", n, 1)
DEQ = MatrixFixedPoint((W * z + b).applyfunc(sp.tanh), z, (W, b))


def _data(k, seed):
    rng = np.random.default_rng(seed)
    return 0.5 * rng.standard_normal((k, k)) / np.sqrt(k), rng.standard_normal((k, 1))


def _truth(statement, dims, arrays, start):
    """(z, dz/dθ) of the entry-wise system, mpmath at 30 digits."""
    system = expand(statement, dims)
    theta = [x for a in arrays for x in np.ravel(a)]
    ref = entrywise_reference(system, theta, list(np.ravel(start)), 30)
    return ref, system


def _close(got, ref, rel):
    got = np.asarray(got, float)
    ref = np.array([[float(x) for x in row] for row in ref])
    assert np.max(np.abs(got - ref)) <= rel * np.max(np.abs(ref))


@pytest.mark.parametrize("k", [2, 3])
def test_deq_matches_numpy_and_jacobian_matches_mpmath(k):
    Wv, bv = _data(k, 20 + k)
    low = DEQ.lower({"n": k})
    f = low.to_jax()
    zj = jax.jit(f)(Wv, bv)
    z64 = low.solve(W=Wv, b=bv)
    assert zj.shape == (k, 1)
    assert np.max(np.abs(np.asarray(zj) - z64)) <= 4e-16 * np.max(np.abs(z64))
    JW, Jb = jax.jit(jax.jacobian(f, argnums=(0, 1)))(Wv, bv)   # reverse mode: the custom_vjp
    assert JW.shape == (k, 1, k, k) and Jb.shape == (k, 1, k, 1)
    ref, _ = _truth(DEQ, {n: k}, [Wv, bv], z64)
    D = ref.jacobian                                            # columns: W row-major, then b
    _close(np.asarray(JW).reshape(k, k * k), [[D[i, j] for j in range(k * k)] for i in range(k)],
           1e-14)
    _close(np.asarray(Jb).reshape(k, k), [[D[i, k * k + j] for j in range(k)] for i in range(k)],
           1e-14)
    zbar = np.arange(1.0, k + 1).reshape(k, 1)
    _, pull = jax.vjp(f, Wv, bv)
    gW, gb = pull(jnp.asarray(zbar))
    want = low.vjp(zbar, W=Wv, b=bv)
    assert np.allclose(gW, want["W"], rtol=1e-15, atol=1e-15)
    assert np.allclose(gb, want["b"], rtol=1e-15, atol=1e-15)


def test_ridge_scalar_parameter_grad_and_flat_column():
    X, y, w = sp.MatrixSymbol("X", 4, 2), sp.MatrixSymbol("y", 4, 1), sp.MatrixSymbol("w", 2, 1)
    lam = sp.Symbol("lam")
    f = MatrixMinimize(quad(X * w - y, X * w - y) + lam * quad(w, w), w, (X, y, lam)).to_jax()
    Xv, yv = np.arange(8.0).reshape(4, 2), np.ones(4)
    g = jax.jit(jax.grad(lambda l: f(Xv, yv, l)[1, 0]))(0.5)
    with mp.workdps(40):                                        # dw/dλ = −A⁻¹ w, A = XᵀX + λI
        Xm = mp.matrix(Xv.tolist())
        A = Xm.T * Xm + mp.mpf(0.5) * mp.eye(2)
        wt = mp.lu_solve(A, Xm.T * mp.matrix(yv.tolist()))
        dl = -mp.lu_solve(A, wt)
    assert float(g) == pytest.approx(float(dl[1]), rel=1e-13)
    assert np.ndim(g) == 0


def test_vmap_over_a_batch_of_b():
    Wv, _ = _data(2, 3)
    f = DEQ.to_jax({"n": 2})
    bs = np.random.default_rng(1).standard_normal((5, 2, 1))
    batched = jax.vmap(f, in_axes=(None, 0))(Wv, bs)
    for i in range(5):
        assert np.allclose(batched[i], f(Wv, bs[i]), rtol=1e-15, atol=0)
    grads = jax.vmap(jax.grad(lambda bb: jnp.sum(f(Wv, bb))))(bs)
    low = DEQ.lower({"n": 2})
    for i in range(5):
        assert np.allclose(grads[i], low.vjp(np.ones((2, 1)), W=Wv, b=bs[i])["b"], rtol=1e-14)


def test_errors():
    f = DEQ.to_jax({"n": 2})
    with pytest.raises(StatementError, match=r"parameter W has shape \(3, 3\), expected \(2, 2\)"):
        f(np.eye(3), np.ones(2))
    with pytest.raises(StatementError, match=r"takes the parameters \['W', 'b'\]"):
        f(np.eye(2))
    with pytest.raises(StatementError, match="dimension n has no value"):
        DEQ.to_jax()


def test_no_root_is_a_convergence_error_and_nan_under_jit():
    x, c = sp.MatrixSymbol("x", 2, 1), sp.MatrixSymbol("c", 2, 1)
    f = MatrixRoot(x.applyfunc(lambda t: t**2) + c, x, (c,)).to_jax()    # x∘x = −c < 0: no root
    with pytest.raises(ConvergenceError, match="no finite root"):
        f(np.ones(2))
    assert np.all(np.isnan(jax.jit(f)(np.ones(2))))
    g = MatrixRoot(x.applyfunc(lambda t: t**2) + c, x, (c,)).to_jax(x0=[1.0, -1.0])
    assert np.allclose(g(-np.array([4.0, 9.0])), [[2.0], [-3.0]], rtol=1e-15)  # the roots near x0
    with pytest.raises(StatementError, match="x0 must be 2 finite numbers"):
        MatrixRoot(x.applyfunc(lambda t: t**2) + c, x, (c,)).to_jax(x0=[1.0])


def test_constrained_least_squares_against_numpy_and_mpmath():
    A, bb, x = sp.MatrixSymbol("A", 5, 3), sp.MatrixSymbol("b", 5, 1), sp.MatrixSymbol("x", 3, 1)
    C, d = sp.MatrixSymbol("C", 1, 3), sp.MatrixSymbol("d", 1, 1)
    st = MatrixMinimize(quad(A * x - bb, A * x - bb), x, (A, bb, C, d), constraints=[C * x - d])
    rng = np.random.default_rng(8)
    Av, bv, Cv, dv = (rng.standard_normal((5, 3)), rng.standard_normal((5, 1)),
                      rng.standard_normal((1, 3)), np.array([[0.7]]))
    low = st.lower()
    f = low.to_jax()
    xs, (lam,) = low.solve_kkt(A=Av, b=bv, C=Cv, d=dv)
    xj = jax.jit(f)(Av, bv, Cv, dv)
    assert np.max(np.abs(np.asarray(xj) - xs)) <= 1e-15 * np.max(np.abs(xs))
    jacs = jax.jacobian(f, argnums=(0, 1, 2, 3))(Av, bv, Cv, dv)
    ref, _ = _truth(st, {}, [Av, bv, Cv, dv], np.vstack([xs, lam]))
    flat = np.hstack([np.asarray(J).reshape(3, -1) for J in jacs])   # θ = A, b, C, d row-major
    D = [[ref.jacobian[i, j] for j in range(flat.shape[1])] for i in range(3)]
    _close(flat, D, 1e-12)
    zbar = np.array([[1.0], [-2.0], [0.5]])
    _, pull = jax.vjp(f, Av, bv, Cv, dv)
    want = low.vjp(zbar, A=Av, b=bv, C=Cv, d=dv)
    for name, g in zip("AbCd", pull(jnp.asarray(zbar))):
        assert np.allclose(g, want[name], rtol=1e-13, atol=1e-15)
