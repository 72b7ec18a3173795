"""Write examples/seed_notebook.ipynb and examples/tour.ipynb (without outputs).

    python examples/make_notebooks.py

The notebooks are generated so that their cells stay reviewable as code here; the test
suite executes them with nbclient (tests/test_notebooks.py) and checks their outputs.
"""
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SEED = [
    new_markdown_cell(
        "# The seed notebook on symimplicit\n\n"
        "The seed built implicit layers by hand: a fixed point x = cos(ax + b), an argmin "
        "x = argmin a x² + b x and a parameter fit through 100 argmin layers, each with a "
        "hand-written implicit-function-theorem gradient.  Here SymPy derives the primitives "
        "and mpmath verifies their digits."),
    new_code_cell("import sympy as sp\n"
                  "from IPython.display import display\n"
                  "from symimplicit import FixedPoint, Minimize, verify\n"
                  "from symimplicit.tape import Scalar, backward\n"
                  "x, a, b = sp.symbols('x a b')"),
    new_markdown_cell("## The fixed point x = cos(ax + b)"),
    new_code_cell("fixed = FixedPoint(sp.cos(a*x + b), unknown=x, params=(a, b))\n"
                  "display(fixed)\n"
                  "d = fixed.derive()\n"
                  "d.derivative(a)"),
    new_code_cell("layer = fixed.primitive()\n"
                  "A, B = Scalar(1.0), Scalar(0.0)\n"
                  "X = layer(A, B)\n"
                  "backward(X)\n"
                  "print('FIXED', repr(X.value), repr(A.grad), repr(B.grad))"),
    new_code_cell("report = verify(layer, at={a: 1, b: 0}, dps=50)\n"
                  "print(report)\n"
                  "print('VERIFIED', report.ok)"),
    new_markdown_cell("## The argmin x = argmin a x² + b x"),
    new_code_cell("argmin_statement = Minimize(a*x**2 + b*x, x, (a, b))\n"
                  "display(argmin_statement.derive())\n"
                  "argmin = argmin_statement.primitive()\n"
                  "A, B = Scalar(2.0), Scalar(0.5)\n"
                  "X = argmin(A, B)\n"
                  "backward(X)\n"
                  "print('ARGMIN', repr(X.value), repr(A.grad), repr(B.grad))"),
    new_markdown_cell("## The fit: recover a from 100 argmins (seed data: random.seed(314))"),
    new_code_cell("import random\n"
                  "random.seed(314)\n"
                  "truea = 1 + random.random()\n"
                  "bs = [2*random.random() - 1 for _ in range(100)]\n"
                  "xs = [argmin(truea, bi) for bi in bs]\n"
                  "ahat, lr = 1.5, 0.05\n"
                  "for step in range(1, 1001):\n"
                  "    sa = Scalar(ahat)\n"
                  "    loss = sum((argmin(sa, bi) - xi)**2 for bi, xi in zip(bs, xs))\n"
                  "    backward(loss)\n"
                  "    ahat -= lr * sa.grad\n"
                  "    if abs(sa.grad) < 1e-14:\n"
                  "        break\n"
                  "print('FIT', repr(ahat), step)"),
]

TOUR = [
    new_markdown_cell("# A tour of symimplicit: derive, display, verify, study"),
    new_code_cell("import sympy as sp\n"
                  "from IPython.display import display, Image\n"
                  "from symimplicit import parse, idiff, verify, study\n"
                  "kepler = parse('E - e*sin(E) - M', unknown='E')\n"
                  "display(kepler)\n"
                  "kepler.params"),
    new_markdown_cell("## Derive (and display the steps as LaTeX)"),
    new_code_cell("d = kepler.derive()\n"
                  "M, e = kepler.params            # parse sorts parameters by name: (M, e)\n"
                  "print('DERIVATIVE', d.derivative(M))\n"
                  "d"),
    new_code_cell("x, y = sp.symbols('x y')\n"
                  "print('IDIFF', idiff(x**2 + y**2 - 4, y, x, 2))"),
    new_markdown_cell("## Verify against mpmath"),
    new_code_cell("layer = kepler.primitive()\n"
                  "report = verify(layer, at={e: 0.5, M: 1.0}, dps=40)\n"
                  "print(report)\n"
                  "print('VERIFIED', report.ok)"),
    new_markdown_cell("## A study near the fold of x = a·tanh(x)"),
    new_code_cell("import tempfile, pathlib\n"
                  "fold = parse('x = a*tanh(x)', unknown='x')\n"
                  "s = study(fold, over={fold.params[0]: [1.1, 1.01, 1.001]}, x0=1, dps=30)\n"
                  "path = pathlib.Path(tempfile.mkdtemp()) / 'fold.png'\n"
                  "s.plot(path)\n"
                  "display(Image(filename=str(path)))\n"
                  "print(s)"),
]


def write(cells, name):
    nb = new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, HERE / name)


if __name__ == "__main__":
    write(SEED, "seed_notebook.ipynb")
    write(TOUR, "tour.ipynb")
