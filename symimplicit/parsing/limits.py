"""The size limits of the parser, in one place (each checked before the work it bounds).

A text longer than MAX_LENGTH, nested deeper than MAX_DEPTH, with more than MAX_NODES
AST nodes per side, a literal of more than MAX_LITERAL_DIGITS digits, arithmetic that
would produce a number of more than MAX_RESULT_DIGITS digits, a power of a non-number
above MAX_SYMBOLIC_EXPONENT, gamma of an integer above MAX_GAMMA_ARGUMENT or exp of a
number above MAX_EXP_ARGUMENT is refused with a ParseError naming the limit.
"""
from __future__ import annotations

__all__ = ["MAX_LENGTH", "MAX_DEPTH", "MAX_NODES", "MAX_LITERAL_DIGITS", "MAX_RESULT_DIGITS",
           "MAX_SYMBOLIC_EXPONENT", "MAX_GAMMA_ARGUMENT", "MAX_EXP_ARGUMENT", "MAX_NAME_LENGTH"]

MAX_LENGTH = 10_000          # characters of text
MAX_DEPTH = 100              # nesting of parentheses / sub-expressions
MAX_NODES = 5_000            # AST nodes per equation side
MAX_LITERAL_DIGITS = 1_000   # digits of one numeric literal
MAX_RESULT_DIGITS = 4_000    # digits of any number the arithmetic produces (Python
                             # refuses to print integers of more than 4300 digits)
MAX_SYMBOLIC_EXPONENT = 1_000  # |n| in b**n when b is not a plain number: (x + a)**n
MAX_GAMMA_ARGUMENT = 1_000   # gamma(n), loggamma(n) evaluate (n - 1)! for integers
MAX_EXP_ARGUMENT = 9_000     # exp/sinh/cosh of a number: exp(9000) has 3909 digits
MAX_NAME_LENGTH = 100        # characters of one symbol name (parse's unknown= / params=)
