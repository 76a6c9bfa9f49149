"""Features of a response trace: peak, time to peak, 10–90 % rise, decay time constant, area.

One definition for single runs, ensembles (per trial) and postsynaptic currents. A trace is a
response above a baseline that goes up (counts of open receptors) or down (an inward current,
negative by convention); ``polarity="auto"`` takes the direction of the largest excursion.
Times in s (numbers or time strings), values in the trace's units (finite numbers).

- **peak**: the extreme of the trace, refined by the parabola through the sample at the extreme
  and its two neighbours (error O(h³) in time for a smooth peak sampled every h), with
  **time_to_peak** measured from ``t0`` (default: the first sample; ``t0`` may precede the trace
  but not follow its last sample), NaN when the peak comes before ``t0`` (the extreme is not a
  response to what happened at ``t0``). Counts (traces of whole numbers, e.g. open receptors)
  are not refined: their peak is the largest count sampled, at the time it was first reached,
  since a count between samples is a whole number too. ``refine`` overrides the choice.
- **rise_10_90**: time from the first crossing of 10 % of the peak to the first crossing of 90 %
  before the peak, each by linear interpolation between samples (error O(h²)).
- **decay_tau**: the time constant of a single exponential a·e^(−t/τ) fitted by least squares
  (in the trace's units, not its logarithm, so noise near zero does not dominate) to the decay
  from 90 % down to 10 % of the peak (or the end of the trace): exact for an exponential decay,
  and the slow time constant of a difference of exponentials once the fast one has died out.
  NaN unless the trace has fallen below half the peak by its end: a fit to less than a halving
  would extrapolate the time constant from the curvature of a short, noisy stretch.
- **area**: the trapezoidal integral of the trace minus the baseline over the whole trace (for
  a current, its charge).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from cleftsim import units

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


def trace_features(times: Any, trace: Any, t0: Any = None, baseline: float = 0.0,
                   polarity: Any = "auto", refine: Any = "auto") -> dict[str, Any]:
    """The features of a trace (see the module docstring); NaN where one is not defined (e.g. a
    decay that has not fallen to 90 % of the peak by the end of the trace). A 2-d ``trace``
    (trials × samples) gives an array per feature, one value per trial.

    ``times`` and ``t0`` in s or time strings; ``baseline`` in the trace's units.
    ``polarity``: +1 (a rise above the baseline), −1 (a fall below it) or ``"auto"`` (per trace).
    Returned values keep the trace's sign: the peak of an inward current is negative.
    ``refine``: refine the peak between samples (True), report the sampled extreme (False), or
    ``"auto"``: refine unless every value of ``trace`` is a whole number (a count).
    """
    t = units.array(times, units.time, "trace_features: times")
    y2 = units.array(trace, None, "trace_features: trace")
    if t.ndim != 1 or y2.ndim not in (1, 2) or y2.shape[-1] != len(t) or len(t) < 3:
        raise ValueError(f"trace_features: a trace needs matching 1-d times and values (or trials × values), at "
                         f"least 3 samples; got shapes {t.shape} and {y2.shape}")
    for name, values in (("times", t), ("trace", y2)):
        bad = np.argwhere(~np.isfinite(values))
        if len(bad):
            raise ValueError(f"trace_features: {name}[{', '.join(map(str, bad[0]))}] is {values[tuple(bad[0])]}; "
                             f"features need finite samples: drop or fill in the bad ones")
    if np.any(np.diff(t) <= 0):
        raise ValueError("trace_features: times must increase")
    start = float(t[0]) if t0 is None else units.time(t0, "trace_features: t0")
    if start > t[-1]:
        raise ValueError(f"trace_features: t0 = {units.format_time(start)} is after the last sample "
                         f"({units.format_time(t[-1])}); give the time the response is measured from, e.g. the "
                         f"stimulus time (a plain number is in s)")
    if isinstance(baseline, (bool, np.bool_)) or not isinstance(baseline, (int, float, np.integer, np.floating)):
        raise TypeError(f"trace_features: baseline must be a number in the trace's units, got {baseline!r}")
    if not np.isfinite(baseline):
        raise ValueError(f"trace_features: baseline must be finite, got {baseline!r}")
    if polarity != "auto" and polarity not in (1, -1):
        raise ValueError(f"trace_features: polarity must be +1, -1 or 'auto', got {polarity!r}")
    if refine == "auto":
        refine = not bool(np.all(y2 == np.round(y2)))
    elif refine not in (True, False):
        raise ValueError(f"trace_features: refine must be True, False or 'auto', got {refine!r}")
    if y2.ndim == 2:
        rows = [_one(t, row, start, baseline, polarity, refine) for row in y2]
        return {k: np.array([r[k] for r in rows]) for k in NAMES}
    return _one(t, y2, start, baseline, polarity, refine)


def _one(t: np.ndarray, trace: np.ndarray, start: float, baseline: float, polarity: Any,
         refine: bool) -> dict[str, float]:
    y0 = trace - baseline
    sign = (1.0 if y0.max() >= -y0.min() else -1.0) if polarity == "auto" else float(polarity)
    y = sign * y0
    area = float(np.trapezoid(y0, t))
    i = int(np.argmax(y))
    if y[i] <= 0:
        return {"peak": 0.0, "time_to_peak": np.nan, "rise_10_90": np.nan, "decay_tau": np.nan, "area": area}
    t_peak, peak = float(t[i]), float(y[i])
    if refine and 0 < i < len(y) - 1:              # parabola through the three samples around the extreme
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
    if j0 < len(y) and j1 - j0 >= 3 and _falling(y, 0.5 * peak, i) < len(y):
        from scipy import optimize

        ts, ys = t[j0:j1] - t[j0], y[j0:j1]
        guess = ts[-1] / np.log(ys[0] / ys[-1]) if 0 < ys[-1] < ys[0] else ts[-1]
        try:
            (a, tau), _ = optimize.curve_fit(lambda s, a, tau: a * np.exp(-s / tau), ts, ys, p0=(ys[0], guess),
                                            maxfev=10000)
            tau = float(tau) if tau > 0 else np.nan
        except (RuntimeError, optimize.OptimizeWarning):
            tau = np.nan
    return {"peak": sign * peak, "time_to_peak": t_peak - start if t_peak >= start else np.nan,
            "rise_10_90": rise, "decay_tau": tau, "area": area}
