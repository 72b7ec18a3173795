"""Matrix-shaped statements (issue 11): MatrixSymbol unknowns, derivation by differentials."""
from .statement import MatrixRoot, MatrixFixedPoint, MatrixMinimize, quad
from .derivation import MatrixDerivation

__all__ = ["MatrixRoot", "MatrixFixedPoint", "MatrixMinimize", "MatrixDerivation", "quad"]
