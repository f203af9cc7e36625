"""The one seed rule of the package: a seed is an integer >= 0.

Python and numpy integers are accepted; bools, floats (even whole ones) and strings are not,
because numpy's ``SeedSequence`` and ``random.Random`` would read them differently or not at all.
"""

from __future__ import annotations

import numbers


def check_seed(seed: object, name: str = "seed") -> int:
    """``seed`` as a Python int, or ``ValueError`` naming ``name`` and what was expected.

    >>> check_seed(7)
    7
    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    ValueError: seed: expected an integer >= 0, got -1
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"{name}: expected an integer >= 0, got {seed!r}")
    return int(seed)
