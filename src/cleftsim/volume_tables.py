"""Compile a model's first-order volume reactions into the arrays of the VolumeKinetics kernel."""
from __future__ import annotations

import numpy as np

from cleftsim.surface_tables import csr


def volume_arrays(model, pend_cap: int, events: np.ndarray) -> dict:
    """Every array the VolumeKinetics kernel needs (see volume.pxd), or None without volume reactions."""
    uni = [[] for _ in model.species]
    for rx in model.reactions:
        if rx.kind == "volume":
            uni[rx.reactants[0].index].append(rx)
    if not any(uni):
        return None
    uni_start, uni_rx = csr([[rx.index for rx in rxs] for rxs in uni])
    vol_start, vol = csr([[p.index for p in rx.volume_products] for rx in model.reactions])
    as_i = lambda x: np.ascontiguousarray(np.asarray(x if len(x) else [0], dtype=np.int32))
    return {
        "uni_start": uni_start, "uni_rx": as_i(uni_rx),
        "uni_total": np.array([sum(rx.k for rx in rxs) for rxs in uni]),
        "rx_k": np.array([rx.k for rx in model.reactions]),
        "rx_vol_start": as_i(vol_start), "rx_vol": as_i(vol),
        "events": events, "pend_cap": pend_cap,
    }
