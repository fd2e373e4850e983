"""Print the polynomial coefficients of erf in csrc/tg_vmath.h (needs mpmath: pip install mpmath).

Nothing imports this: it is how the tables were made, so that they can be remade or checked.
The method is fdlibm's (Sun, 1993; FreeBSD's msun/src/s_erf.c, musl's src/math/erf.c):
    |x| < 1:   erf(x) = x + x * P(x^2)              P ~ erf(x)/x - 1, small: x + x*P rounds well
    |x| >= 1:  erf(x) = 1 - exp(-x^2) * Q(u)        Q ~ erfc(x) e^(x^2), smooth and between 0.09
                                                    and 0.43 on [1, 6]
with u = ((x - k)/(x + k) - c) * s, k = sqrt 6, mapping [1, XMAX] onto [-1, 1] (erfc(x) e^(x^2)
behaves like 1/x, which a polynomial in x follows badly and one in (x - k)/(x + k) well).
Above XMAX, erf rounds to +-1 (XMAX = 6 for float64, 4 for float32). The coefficients are ours:
mpmath.chebyfit's near-minimax polynomials (Chebyshev interpolation at 50 digits), rounded to
double (to float for the float32 kernel, whose shorter tables are fit to ~1e-9).
"""
from __future__ import annotations

import mpmath as mp

mp.mp.dps = 50
K = mp.sqrt(6)
# (terms of P, terms of Q, XMAX) per element type; errors measured by tests/test_kernels.py
SIZES = {"f64": (12, 16, 6), "f32": (7, 9, 4)}


def small_table(terms: int) -> list:
    """P(z) ~ erf(sqrt z)/sqrt z - 1 on z in [0, 1], highest power first."""
    def f(z):
        return 2 / mp.sqrt(mp.pi) - 1 if z == 0 else mp.erf(mp.sqrt(z)) / mp.sqrt(z) - 1
    return mp.chebyfit(f, [0, 1], terms)


def large_table(terms: int, xmax) -> tuple:
    """Q(u) ~ erfc(x) e^(x^2) on x in [1, xmax], highest power first; and (c, s) of u's map."""
    t1, t2 = (1 - K) / (1 + K), (xmax - K) / (xmax + K)
    center, scale = (t1 + t2) / 2, 2 / (t2 - t1)

    def f(u):
        t = center + u / scale
        x = K * (1 + t) / (1 - t)
        return mp.erfc(x) * mp.exp(x * x)
    return mp.chebyfit(f, [-1, 1], terms), center, scale


def c_define(name: str, values) -> str:
    rows = [", ".join(repr(float(v)) for v in values[i:i + 3]) for i in range(0, len(values), 3)]
    return f"#define {name} {{ \\\n    " + ", \\\n    ".join(rows) + " }"


if __name__ == "__main__":  # the tables at the top of tg_vmath.h's erf
    for sfx, (n_small, n_large, xmax) in SIZES.items():
        q, center, scale = large_table(n_large, xmax)
        center = 0.0 if abs(center) < 1e-30 else center  # k = sqrt 6 centres [1, 6] exactly
        print(c_define(f"TG_ERF_P_{sfx}", small_table(n_small)))
        print(c_define(f"TG_ERF_Q_{sfx}", q))
        print(f"#define TG_ERF_MAP_{sfx} {{{float(center)!r}, {float(scale)!r}, {xmax}.0}} /* c, s, XMAX */")
