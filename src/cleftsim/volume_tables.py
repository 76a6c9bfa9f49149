"""Compile a model's volume reactions into the arrays of the VolumeKinetics and PairReactions kernels."""
from __future__ import annotations

import numpy as np

from cleftsim import bimolecular
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


def pair_arrays(model, events: np.ndarray) -> dict | None:
    """Every array the PairReactions kernel needs (see pairs.pxd), or None without pair reactions."""
    from cleftsim.model import ModelError

    pairs = [rx for rx in model.reactions if rx.kind == "pair"]
    if not pairs:
        return None
    n_vol, n_rx = len(model.species), len(model.reactions)
    pair_rx = np.full(n_vol * n_vol, -1, dtype=np.int32)
    rx_r2 = np.zeros(n_rx)
    rx_prod = np.full((n_rx, 2), -1, dtype=np.int32)
    searches = np.zeros(n_vol, dtype=np.int8)
    target = np.zeros(n_vol, dtype=np.int8)
    for rx in pairs:
        a, b = rx.reactants
        for back in model.reactions:
            if back.kind == "volume" and sorted(p.index for p in back.volume_products) == sorted([a.index, b.index]):
                raise ModelError(f"reactions {rx.equation!r} and {back.equation!r} make a reversible pair of volume "
                                 f"reactions, which needs an unbinding radius; not supported in this version")
        D = a.D + b.D
        if D <= 0:
            raise ModelError(f"reaction {rx.equation!r}: both reactants have D = 0, so they never meet")
        k = 2 * rx.k if a.index == b.index else rx.k        # A + A: d[products]/dt = k[A]², per pair 2k
        rx_r2[rx.index] = bimolecular.binding_radius(k, D, model.dt) ** 2 if k > 0 else 0.0
        pair_rx[a.index * n_vol + b.index] = rx.index       # a searches, b waits in the hash
        searches[a.index] = 1
        target[b.index] = 1
        rx_prod[rx.index, :len(rx.volume_products)] = [p.index for p in rx.volume_products]
    return {"pair_rx": pair_rx, "rx_r2": rx_r2, "rx_prod": rx_prod,
            "weight": np.array([s.D for s in model.species], dtype=np.float64), "searches": searches, "target": target,
            "events": events, "stats": np.zeros(1, dtype=np.int64)}
