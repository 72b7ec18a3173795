"""Parameter order visible: repr of statements and layers, layer.params, the argument-count
error, in the order the layer is called with (parse sorts default names; params= chooses)."""
import pytest
import sympy as sp

from symimplicit import Minimize, parse
from symimplicit.errors import ArgumentError
from symimplicit.tape import Scalar


@pytest.mark.parametrize("params, order", [(None, ["alpha", "zeta"]),
                                           (["zeta", "alpha"], ["zeta", "alpha"])])
def test_repr_params_and_count_error_name_the_order(params, order):
    st = parse("x = cos(zeta*x + alpha)", params=params)
    layer = st.primitive()
    shown = "(" + ", ".join(order) + ")"
    assert f"params={shown}" in repr(st) and f"params={shown}" in repr(layer)
    assert [p.name for p in layer.params] == order
    with pytest.raises(ArgumentError, match=rf"2 parameter\(s\) \({', '.join(order)}\) in order, got 1"):
        layer(Scalar(1.0))
    # the order is the call order: x = cos(zeta·x + alpha) at alpha = 0.25, zeta = 0.5
    values = {"alpha": 0.25, "zeta": 0.5}
    x = layer.solve(*[values[n] for n in order])
    assert abs(x - sp.N(sp.cos(0.5 * x + 0.25), 20)) < 1e-15


def test_inequality_layer_params_and_count_error():
    x, b, a = sp.symbols("x b a")
    st = Minimize((x - a)**2 + b * x, x, (b, a), constraints=[x >= 0])
    layer = st.primitive()
    assert layer.params == (b, a) and "params=(b, a)" in repr(layer)
    with pytest.raises(ArgumentError, match=r"\(b, a\) in order, got 3"):
        layer(1.0, 2.0, 3.0)
    assert layer.solve(1.0, 2.0) == pytest.approx(1.5, rel=1e-14)   # x = a - b/2 > 0
