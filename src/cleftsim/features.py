"""Features of a response trace: peak, time to peak, 10–90 % rise, decay time constant, area.

One definition for single runs, ensembles (per trial) and postsynaptic currents. A trace is a
response above a baseline that goes up (counts of open receptors) or down (an inward current,
negative by convention); ``polarity="auto"`` takes the direction of the largest excursion.
Times in s, values in the trace's units.

- **peak**: the extreme of the trace, refined by the parabola through the sample at the extreme
  and its two neighbours (error O(h³) in time for a smooth peak sampled every h), with
  **time_to_peak** measured from ``t0`` (default: the first sample).
- **rise_10_90**: time from the first crossing of 10 % of the peak to the first crossing of 90 %
  before the peak, each by linear interpolation between samples (error O(h²)).
- **decay_tau**: the time constant of a single exponential a·e^(−t/τ) fitted by least squares
  (in the trace's units, not its logarithm, so noise near zero does not dominate) to the decay
  from 90 % down to 10 % of the peak (or the end of the trace): exact for an exponential decay,
  and the slow time constant of a difference of exponentials once the fast one has died out.
- **area**: the trapezoidal integral of the trace minus the baseline over the whole trace (for
  a current, its charge).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy import optimize

NAMES = ("peak", "time_to_peak", "rise_10_90", "decay_tau", "area")


def _crossing(t: np.ndarray, y: np.ndarray, level: float, i0: int, i1: int) -> float:
    """First time in samples i0..i1 where y reaches level (rising), linearly interpolated."""
    above = np.flatnonzero(y[i0:i1 + 1] >= level)
    if len(above) == 0:
        return np.nan
    j = i0 + int(above[0])
    if j == 0 or y[j] == y[j - 1]:
        return float(t[j])
    return float(t[j - 1] + (level - y[j - 1]) * (t[j] - t[j - 1]) / (y[j] - y[j - 1]))


def _falling(y: np.ndarray, level: float, i0: int) -> int:
    """Index of the first sample at or after i0 where y has fallen below level (len(y) if never)."""
    below = np.flatnonzero(y[i0:] < level)
    return i0 + int(below[0]) if len(below) else len(y)


def trace_features(times: Any, trace: Any, t0: float | None = None, baseline: float = 0.0,
                   polarity: Any = "auto") -> dict[str, Any]:
    """The features of a trace (see the module docstring); NaN where one is not defined (e.g. a
    decay that has not fallen to 90 % of the peak by the end of the trace). A 2-d ``trace``
    (trials × samples) gives an array per feature, one value per trial.

    ``polarity``: +1 (a rise above the baseline), −1 (a fall below it) or ``"auto"`` (per trace).
    Returned values keep the trace's sign: the peak of an inward current is negative.
    """
    y2 = np.asarray(trace, dtype=float)
    if y2.ndim == 2:
        rows = [trace_features(times, row, t0, baseline, polarity) for row in y2]
        return {k: np.array([r[k] for r in rows]) for k in NAMES}
    return _one(times, y2, t0, baseline, polarity)


def _one(times: Any, trace: np.ndarray, t0: float | None, baseline: float, polarity: Any) -> dict[str, float]:
    t = np.asarray(times, dtype=float)
    y0 = trace - baseline
    if t.ndim != 1 or y0.shape != t.shape or len(t) < 3:
        raise ValueError(f"a trace needs matching 1-d times and values, at least 3 samples; got shapes "
                         f"{t.shape} and {y0.shape}")
    if np.any(np.diff(t) <= 0):
        raise ValueError("times must increase")
    if polarity == "auto":
        sign = 1.0 if y0.max() >= -y0.min() else -1.0
    elif polarity in (1, -1):
        sign = float(polarity)
    else:
        raise ValueError(f"polarity must be +1, -1 or 'auto', got {polarity!r}")
    y = sign * y0
    start = t[0] if t0 is None else float(t0)
    area = float(np.trapezoid(y0, t))
    i = int(np.argmax(y))
    if y[i] <= 0:
        return {"peak": 0.0, "time_to_peak": np.nan, "rise_10_90": np.nan, "decay_tau": np.nan, "area": area}
    t_peak, peak = float(t[i]), float(y[i])
    if 0 < i < len(y) - 1:                          # parabola through the three samples around the extreme
        u, w = t[i - 1] - t[i], t[i + 1] - t[i]     # in time from the middle sample: y = y_i + B s + A s²
        gu, gw = (y[i - 1] - y[i]) / u, (y[i + 1] - y[i]) / w
        A = (gu - gw) / (u - w)
        B = gu - A * u
        if A < 0:
            t_peak = float(t[i] - B / (2 * A))
            peak = float(y[i] - B * B / (4 * A))
    rise = _crossing(t, y, 0.9 * peak, 0, i) - _crossing(t, y, 0.1 * peak, 0, i)
    j0 = _falling(y, 0.9 * peak, i)
    j1 = _falling(y, 0.1 * peak, i)
    tau = np.nan
    if j0 < len(y) and j1 - j0 >= 3:
        ts, ys = t[j0:j1] - t[j0], y[j0:j1]
        guess = ts[-1] / np.log(ys[0] / ys[-1]) if 0 < ys[-1] < ys[0] else ts[-1]
        try:
            (a, tau), _ = optimize.curve_fit(lambda s, a, tau: a * np.exp(-s / tau), ts, ys, p0=(ys[0], guess),
                                            maxfev=10000)
            tau = float(tau) if tau > 0 else np.nan
        except (RuntimeError, optimize.OptimizeWarning):
            tau = np.nan
    return {"peak": sign * peak, "time_to_peak": t_peak - start, "rise_10_90": rise, "decay_tau": tau,
            "area": area}
