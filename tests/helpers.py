"""Helpers shared by the statistical tests: tolerances, constants, z-score checks, exact references.

Import them by name (``from helpers import K, check``); tests/conftest.py puts this folder on
sys.path, so that works whatever pytest's import mode. A file whose tolerance differs from these
(test_surface_diffusion.py: K = 5 with an allowance for a known systematic error;
test_mcell_nmj.py: K = 4) keeps its own.
"""
import math

import numpy as np
from scipy.special import erfcx

K = 4.5                          # tolerance of a z-score check, in standard errors
P_MIN = 1e-4                     # goodness-of-fit (chi-square, KS) tests: a correct engine fails one in 10⁴ runs
N_A = 6.02214076e23              # Avogadro's number, mol⁻¹
L_PER_UM3 = 1e-15                # litres per µm³
D_GLU = 330.0                    # µm²/s: glutamate in the cleft, "0.33 um^2/ms"


def z_line(est, exact, se, what):
    """The z-score of est against exact and the report line that goes with it."""
    z = (est - exact) / se
    return z, f"{what}: simulated {est:.6g}, exact {exact:.6g}, SE {se:.3g}, z = {z:+.2f}"


def check(est, exact, se, what, k=K):
    """|est − exact| / se < k (estimate, exact value, its standard error, a label); the line is printed."""
    z, line = z_line(est, exact, se, what)
    print(line)
    assert abs(z) < k, line


def check_all(items, k=K):
    """Each item (estimate, exact, SE, label) must lie within k SE; every one is reported."""
    lines, bad = [], []
    for est, exact, se, what in items:
        z, line = z_line(est, exact, se, what)
        lines.append(line)
        if not abs(z) < k:
            bad.append(line)
    print("\n".join(lines))
    assert not bad, "outside the tolerance of %g SE:\n%s" % (k, "\n".join(bad))


def fold(x, lo, hi):
    """Mirror-fold coordinates into [lo, hi] (the method of images: the exact end point of a
    straight path specularly reflected between walls at lo and hi)."""
    L = hi - lo
    y = np.mod(x - lo, 2 * L)
    return lo + np.where(y > L, 2 * L - y, y)


def robin_uptake(t, c, kappa, D):
    """Cumulative uptake per area (µm⁻²) from a half-space at c (µm⁻³) through a Robin boundary κ (µm/s):
    Q(t)/A = c (D/κ) [erfcx(κ√(t/D)) − 1 + 2κ√(t/(πD))]."""
    x = kappa * np.sqrt(t / D)
    return c * (D / kappa) * (erfcx(x) - 1 + 2 * x / math.sqrt(math.pi))
