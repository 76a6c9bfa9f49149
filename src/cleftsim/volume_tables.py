"""Compile a model's volume reactions into the arrays of the VolumeKinetics and PairReactions kernels."""
from __future__ import annotations

import numpy as np

from cleftsim import bimolecular
from cleftsim.surface_tables import csr


def radii(model) -> tuple[dict[int, float], dict[int, float]]:
    """Binding radius (µm) of every pair reaction, and the unbinding separation (µm) of every
    first-order reaction that is the reverse of one (C -> A + B with A + B -> C), by reaction index."""
    from cleftsim.model import ModelError

    bind, sep = {}, {}
    for rx in model.reactions:
        if rx.kind != "pair":
            continue
        a, b = rx.reactants
        D = a.D + b.D
        if D <= 0:
            raise ModelError(f"reaction {rx.equation!r}: both reactants have D = 0, so they never meet")
        k = 2 * rx.k if a.index == b.index else rx.k        # A + A: d[products]/dt = k[A]², per pair 2k
        backs = [r for r in model.reactions if r.kind == "volume"
                 and sorted(p.index for p in r.volume_products) == sorted([a.index, b.index])]
        if k <= 0:
            bind[rx.index] = 0.0
        elif backs:
            bind[rx.index], s_u = bimolecular.reversible_radii(k, D, model.dt)
            for back in backs:
                sep[back.index] = s_u
        else:
            bind[rx.index] = bimolecular.binding_radius(k, D, model.dt)
    return bind, sep


def volume_arrays(model, pend_cap: int, events: np.ndarray, sep: dict[int, float]) -> dict | None:
    """Every array the VolumeKinetics kernel needs (see volume.pxd), or None without first-order
    volume reactions and productions."""
    uni = [[] for _ in model.species]
    for rx in model.reactions:
        if rx.kind == "volume":
            uni[rx.reactants[0].index].append(rx)
    if not any(uni) and not any(rx.kind == "production" for rx in model.reactions):
        return None
    uni_start, uni_rx = csr([[rx.index for rx in rxs] for rxs in uni])
    vol_start, vol = csr([[p.index for p in rx.volume_products] for rx in model.reactions])
    as_i = lambda x: np.ascontiguousarray(np.asarray(x if len(x) else [0], dtype=np.int32))
    return {
        "uni_start": uni_start, "uni_rx": as_i(uni_rx),
        "uni_total": np.array([sum(rx.k for rx in rxs) for rxs in uni], dtype=np.float64),
        "rx_k": np.array([rx.k for rx in model.reactions]),
        "rx_vol_start": as_i(vol_start), "rx_vol": as_i(vol),
        "rx_sep": np.array([sep.get(rx.index, 0.0) for rx in model.reactions]),
        "D": np.array([s.D for s in model.species], dtype=np.float64),
        "events": events, "pend_cap": pend_cap, "stats": np.zeros(1, dtype=np.int64),
    }


def pair_arrays(model, events: np.ndarray, bind: dict[int, float]) -> dict | None:
    """Every array the PairReactions kernel needs (see pairs.pxd), or None without pair reactions."""
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
        rx_r2[rx.index] = bind[rx.index] ** 2
        pair_rx[a.index * n_vol + b.index] = rx.index       # a searches, b waits in the hash
        searches[a.index] = 1
        target[b.index] = 1
        rx_prod[rx.index, :len(rx.volume_products)] = [p.index for p in rx.volume_products]
    return {"pair_rx": pair_rx, "rx_r2": rx_r2, "rx_prod": rx_prod,
            "weight": np.array([s.D for s in model.species], dtype=np.float64), "searches": searches, "target": target,
            "events": events, "stats": np.zeros(1, dtype=np.int64)}
