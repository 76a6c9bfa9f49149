"""Publication figures: geometry in 3D and in section, time courses, currents, occupancies.

Every function draws on the matplotlib Axes it is given (a 3D Axes for :func:`geometry`) and
returns it. Axes are labelled in the units people read: time in ms, lengths in nm, currents in
pA, concentrations in mM (inputs stay in cleftsim's base units: s, µm, A, M). The functions
leave matplotlib's global settings alone; :func:`style` sets publication defaults for a block,
and :func:`save` writes a figure in several formats at once.

Colours: regions are labelled "object.region"; ``colors`` maps region labels and species (or
state set) names to matplotlib colours, and whatever it leaves out gets a default colour that
depends only on the model (the same in :func:`geometry` and :func:`section`).
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

import numpy as np

from cleftsim import units
from cleftsim.ensemble import EnsembleResult
from cleftsim.model import Model, Species
from cleftsim.result import Result
from cleftsim.simulation import Simulation

if TYPE_CHECKING:                          # matplotlib itself is imported when a figure is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from mpl_toolkits.mplot3d import Axes3D

#: Publication settings applied by :func:`style`.
STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 3,
    "ytick.major.size": 3,
    "lines.linewidth": 1.2,
    "figure.figsize": (3.4, 2.6),          # one journal column (86 mm)
    "figure.constrained_layout.use": True,
    "savefig.bbox": "tight",
    "savefig.dpi": 300,
    "pdf.fonttype": 42,                    # TrueType: text stays editable
    "ps.fonttype": 42,
    "svg.fonttype": "none",
}

#: Default thickness of the slab of molecules shown by :func:`section` (µm).
SECTION_THICKNESS = 0.02
#: Edges between triangles whose normals differ by more than this are outlined (degrees).
FEATURE_ANGLE = 30.0
#: Room (inches) left for the z tick and axis labels between a 3D Axes and its legend.
LABEL_ROOM = 0.7
_NM = 1e3                                  # nm per µm
_PLANES = {"xz": (1, 0, 2), "yz": (0, 1, 2), "xy": (2, 0, 1)}   # normal axis, horizontal, vertical
_BANDS = {"sd": "SD", "sem": "SEM", "ci": "{level:.0%} CI"}   # band: its name in the legend


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Publication rcParams (9–10 pt text, thin spines, no top/right spines, constrained layout,
    tight bounding box, editable text in PDF and SVG) inside a ``with`` block."""
    import matplotlib

    with matplotlib.rc_context(STYLE):
        yield


def save(fig: Figure, stem: str | os.PathLike, formats: Sequence[str] = ("png", "pdf", "svg"),
         dpi: float = 200) -> list[Path]:
    """Save ``fig`` as ``<stem>.<ext>`` for each format (raster formats at ``dpi``), creating the
    parent directory; returns the paths written."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_name(f"{stem.name}.{ext.lstrip('.')}") for ext in formats]
    for path in paths:
        fig.savefig(path, dpi=dpi)
    return paths


# ---- geometry ---------------------------------------------------------------------------------
def _region_colors(model: Model, colors: Mapping[str, Any] | None) -> dict[str, Any]:
    """Colour of every region label of the model: ``colors`` first, else the Set2 palette."""
    import matplotlib

    palette = matplotlib.colormaps["Set2"].colors
    labels = [f"{o.name}.{r}" for o in model.objects for r in o.mesh.region_names]
    return {lab: (colors or {}).get(lab, palette[i % len(palette)]) for i, lab in enumerate(labels)}


def _molecules(model: Model, sim: Simulation, species: Sequence | None) -> list[tuple[str, np.ndarray]]:
    """(label, positions (n, 3) µm) of each species to draw that has molecules now: ``species``
    (volume species, surface species or state sets), or every species of the model."""
    if sim.model is not model:
        raise ValueError("sim is a simulation of another model; pass the model it was made from")
    volume = {s.name for s in model.species}
    wanted = list(model.species) + list(model.surface_species) if species is None else list(species)
    out = []
    for item in wanted:
        label = getattr(item, "name", item)
        if isinstance(item, Species) or item in volume:
            pos = sim.positions(item)
        else:
            pos = sim.surface_molecules(item)["positions"]
        if len(pos):
            out.append((label, pos))
    return out


def _species_color(model: Model, label: str, k: int, colors: Mapping[str, Any] | None) -> Any:
    """``colors[label]``, else a tab10 colour fixed by the species' place in the model (state sets
    and other labels: by their place ``k`` in the list drawn)."""
    import matplotlib

    if colors and label in colors:
        return colors[label]
    names = [s.name for s in model.species] + [s.name for s in model.surface_species]
    i = names.index(label) if label in names else len(names) + k
    return matplotlib.colormaps["tab10"].colors[i % 10]


def _subsample(pos: np.ndarray, most: int, rng: np.random.Generator) -> np.ndarray:
    if len(pos) <= most:
        return pos
    return pos[np.sort(rng.choice(len(pos), most, replace=False))]


def _shown(label: str, n: int, shown: int) -> str:
    return f"{label} (n = {n})" if shown == n else f"{label} ({shown} of {n} shown)"


def _feature_edges(vertices: np.ndarray, triangles: np.ndarray, region_ids: np.ndarray,
                   normals: np.ndarray) -> np.ndarray:
    """(E, 2, 3) edges that outline a triangle set: its boundary, edges between regions and
    creases (normals more than FEATURE_ANGLE apart); flat interior diagonals are left out."""
    edges = np.sort(triangles[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    owner = np.repeat(np.arange(len(triangles)), 3)
    unique, inverse, counts = np.unique(edges, axis=0, return_inverse=True, return_counts=True)
    order = np.argsort(inverse.ravel(), kind="stable")
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    a = owner[order[first]]
    b = owner[order[np.minimum(first + 1, len(order) - 1)]]
    crease = np.einsum("ij,ij->i", normals[a], normals[b]) < np.cos(np.radians(FEATURE_ANGLE))
    keep = (counts != 2) | (region_ids[a] != region_ids[b]) | crease
    return vertices[unique[keep]]


def _set_equal_3d(ax: Axes3D, points: np.ndarray) -> None:
    """Limits around ``points`` (n, 3) and a box aspect that makes x, y and z scale alike."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = hi - lo
    span = np.maximum(span, 0.02 * span.max() if span.max() > 0 else 1.0)   # flat or point data
    mid = (lo + hi) / 2
    ax.set_box_aspect(span.copy())                    # (matplotlib scales the array it is given in place)
    for name, m, s in zip("xyz", mid, span):
        bins = round(5 * s / span.max())
        if bins >= 2:
            ax.locator_params(axis=name, nbins=bins)
        else:                                            # a short axis: ticks at its ends only
            getattr(ax, f"set_{name}ticks")([m - s / 2, m + s / 2])
        getattr(ax, f"set_{name}lim")(m - s / 2, m + s / 2)   # last: the calls above autoscale


def geometry(ax: Axes3D, model: Model, sim: Simulation | None = None, species: Sequence | None = None,
             regions: Sequence[str] | None = None, colors: Mapping[str, Any] | None = None,
             alpha: float = 0.25, max_molecules: int = 3000, seed: int = 0, title: str | None = None) -> Axes3D:
    """Draw the model's geometry on a 3D Axes, triangles coloured by region, in nm.

    ``regions``: labels "object.region" to draw (default all). With ``sim``, the molecules at
    its current time are drawn too: ``species`` (names of volume or surface species, or state
    sets; default every species with molecules), at most ``max_molecules`` of each (a random
    subset, from ``seed``). Faces are shaded with opacity ``alpha`` and outlined along their
    creases and region borders; the legend names the regions and species (with counts).
    """
    from matplotlib.patches import Patch
    from matplotlib.transforms import ScaledTranslation
    from mpl_toolkits.mplot3d.art3d import Line3DCollection, Poly3DCollection

    region_color = _region_colors(model, colors)
    if regions is not None:
        unknown = sorted(set(regions) - set(region_color))
        if unknown:
            raise ValueError(f"unknown regions {unknown}; the model's regions are {list(region_color)}")
    polys, faces, outline, handles = [], [], [], []
    for obj in model.objects:
        mesh = obj.mesh
        labels = np.array([f"{obj.name}.{r}" for r in mesh.region_names])
        drawn = np.ones(mesh.n_triangles, bool) if regions is None else np.isin(labels[mesh.region_ids], regions)
        tri = mesh.triangles[drawn]
        if not len(tri):
            continue
        verts = mesh.vertices * _NM
        polys.append(verts[tri])
        faces += [region_color[lab] for lab in labels[mesh.region_ids[drawn]]]
        outline.append(_feature_edges(verts, tri, mesh.region_ids[drawn], mesh.normals[drawn]))
        handles += [Patch(facecolor=region_color[lab], edgecolor="0.3", linewidth=0.4, label=lab)
                    for lab in labels[np.unique(mesh.region_ids[drawn])]]
    points = [np.zeros((0, 3))]
    if polys:
        polys = np.concatenate(polys)
        ax.add_collection3d(Poly3DCollection(polys, facecolors=faces, alpha=alpha, linewidths=0))
        ax.add_collection3d(Line3DCollection(np.concatenate(outline), colors="0.3", linewidths=0.4))
        points.append(polys.reshape(-1, 3))
    if sim is not None:
        rng = np.random.Generator(np.random.PCG64(seed))
        for k, (label, pos) in enumerate(_molecules(model, sim, species)):
            xyz = _subsample(pos, max_molecules, rng) * _NM
            handles.append(ax.scatter(*xyz.T, s=2, linewidths=0, depthshade=False,
                                      color=_species_color(model, label, k, colors),
                                      label=_shown(label, len(pos), len(xyz))))
            points.append(xyz)
    points = np.concatenate(points)
    if len(points):
        _set_equal_3d(ax, points)
    ax.set_xlabel("x (nm)")
    ax.set_ylabel("y (nm)")
    ax.set_zlabel("z (nm)")
    if title is not None:
        ax.set_title(title)
    if handles:
        # right of the Axes, clear of the z tick and axis labels (they reach out past its side)
        clear = ScaledTranslation(LABEL_ROOM, 0.0, ax.figure.dpi_scale_trans)
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), bbox_transform=ax.transAxes + clear,
                  frameon=False)
    return ax


def _cut(vertices: np.ndarray, triangles: np.ndarray, axis: int, at: float) -> tuple[np.ndarray, np.ndarray]:
    """Segments (S, 2, 3) where triangles cross the plane coordinate[axis] = at, and the index of
    the triangle of each. A vertex on the plane counts as above it, so a face lying in the
    plane gives no segment."""
    p = vertices[triangles]                                  # (T, 3, 3)
    d = p[:, :, axis] - at
    above = d >= 0
    q, dq = np.roll(p, -1, axis=1), np.roll(d, -1, axis=1)   # the other end of edges 01, 12, 20
    crosses = above != np.roll(above, -1, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(crosses, d / (d - dq), 0.0)
    hits = p + f[:, :, None] * (q - p)                       # (T, 3 edges, 3)
    cut = np.flatnonzero(crosses.sum(axis=1) == 2)
    pick = np.argsort(~crosses[cut], axis=1, kind="stable")[:, :2]   # the two crossing edges
    return np.take_along_axis(hits[cut], pick[:, :, None], axis=1), cut


def section(ax: Axes, model: Model, sim: Simulation | None = None, plane: str = "xz", at: Any = 0.0,
            thickness: Any = None, species: Sequence | None = None, colors: Mapping[str, Any] | None = None,
            max_molecules: int = 3000, seed: int = 0) -> Axes:
    """Draw a cut through the geometry in the plane ``plane`` ("xz": y = ``at``, "yz": x = ``at``,
    "xy": z = ``at``; ``at`` in µm or a length string), in nm with equal aspect.

    The lines where the plane meets the surfaces are coloured by region (a face lying exactly in
    the plane is not drawn). With ``sim``, the molecules within ±``thickness``/2 of the plane
    (default 20 nm) are drawn as dots: ``species``, ``max_molecules`` and ``seed`` as in
    :func:`geometry`.
    """
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    if plane not in _PLANES:
        raise ValueError(f"plane must be one of {list(_PLANES)}, got {plane!r}")
    normal, h, v = _PLANES[plane]
    at = units.length(at, "at")
    half = (SECTION_THICKNESS if thickness is None else units.length(thickness, "thickness")) / 2
    if not half > 0:
        raise ValueError(f"thickness must be positive, got {thickness!r}")
    region_color = _region_colors(model, colors)
    segments, seg_colors, handles = [], [], []
    for obj in model.objects:
        mesh = obj.mesh
        seg, tri = _cut(mesh.vertices, mesh.triangles, normal, at)
        labels = np.array([f"{obj.name}.{r}" for r in mesh.region_names])
        segments.append(seg[:, :, [h, v]] * _NM)
        seg_colors += [region_color[lab] for lab in labels[mesh.region_ids[tri]]]
        handles += [Line2D([], [], color=region_color[lab], label=lab) for lab in labels[np.unique(mesh.region_ids[tri])]]
    if seg_colors:
        ax.add_collection(LineCollection(np.concatenate(segments), colors=seg_colors, linewidths=1.2))
    if sim is not None:
        rng = np.random.Generator(np.random.PCG64(seed))
        for k, (label, pos) in enumerate(_molecules(model, sim, species)):
            near = pos[np.abs(pos[:, normal] - at) <= half]
            if not len(near):
                continue
            xy = _subsample(near, max_molecules, rng)[:, [h, v]] * _NM
            handles.append(ax.scatter(*xy.T, s=3, linewidths=0, zorder=3, color=_species_color(model, label, k, colors),
                                      label=_shown(label, len(near), len(xy))))
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.set_xlabel(f"{plane[0]} (nm)")
    ax.set_ylabel(f"{plane[1]} (nm)")
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    return ax


# ---- time courses -------------------------------------------------------------------------------
def timecourse(ax: Axes, data: Result | EnsembleResult, name: str, band: str | None = "sd", level: float = 0.95,
               scale: float = 1.0, label: str | None = None, color: Any = None, ylabel: str | None = None,
               trials: int = 0) -> Axes:
    """Plot observable ``name`` × ``scale`` against time in ms: a :class:`Result`'s trace, or an
    :class:`EnsembleResult`'s mean over trials with a shaded ``band`` ("sd", "sem", "ci" at
    ``level``, or None) and the first ``trials`` individual trials as thin light lines.

    The legend entry is ``label`` (default: none for a Result's trace, the statistic for an
    ensemble, e.g. "mean ± SD (n = 40)"); ``ylabel`` defaults to ``name``.
    """
    if band is not None and band not in _BANDS:
        raise ValueError(f"band must be one of {list(_BANDS)} or None, got {band!r}")
    if trials < 0:
        raise ValueError(f"trials must be >= 0, got {trials!r}")
    t = data.times * 1e3
    if isinstance(data, EnsembleResult):
        n = len(data)
        band = band if n > 1 else None                      # no spread from a single trial
        stat = f"mean ± {_BANDS[band].format(level=level)} (n = {n})" if band else f"mean (n = {n})"
        mean = data.mean(name)
        line, = ax.plot(t, mean * scale, color=color, zorder=3, label=stat if label is None else f"{label}: {stat}")
        color = line.get_color()
        if band:
            if band == "ci":
                low, high = data.ci(name, level)
            else:
                spread = data.sd(name) if band == "sd" else data.sem(name)
                low, high = mean - spread, mean + spread
            ax.fill_between(t, low * scale, high * scale, color=color, alpha=0.25, linewidth=0, zorder=1)
        for trace in data[name][:trials]:
            ax.plot(t, trace * scale, color=color, alpha=0.35, linewidth=0.5, zorder=2)
    else:
        ax.plot(t, data[name] * scale, color=color, label=label)
    ax.margins(x=0)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(name if ylabel is None else ylabel)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False)
    return ax


def current(ax: Axes, data: Result | EnsembleResult, name: str = "current", band: str | None = "sd",
            **kw: Any) -> Axes:
    """Plot a current observable stored in A (inward negative) in pA, with a thin zero line;
    other keywords as :func:`timecourse`."""
    timecourse(ax, data, name, band=band, scale=1e12, **{"ylabel": "current (pA)", **kw})
    ax.axhline(0.0, color="0.5", linewidth=0.5, zorder=0)
    return ax


def occupancy(ax: Axes, data: Result | EnsembleResult, names: str | Sequence[str], total: int,
              band: str | None = None, labels: Sequence[str] | None = None) -> Axes:
    """Plot the fraction of ``total`` receptors counted by each observable in ``names`` (one line
    each: the trace, or the ensemble mean with an optional ``band``), labelled by ``labels``
    (default: the names)."""
    names = [names] if isinstance(names, str) else list(names)
    labels = names if labels is None else list(labels)
    if len(labels) != len(names):
        raise ValueError(f"{len(labels)} labels for {len(names)} observables")
    if isinstance(total, bool) or not isinstance(total, (int, np.integer)) or total < 1:
        raise ValueError(f"total must be a positive number of receptors, got {total!r}")
    for name, lab in zip(names, labels):
        timecourse(ax, data, name, band=band, scale=1.0 / total, label=lab, ylabel="fraction of receptors")
    ax.set_ylim(bottom=0.0)
    return ax


def concentration(ax: Axes, times: np.ndarray, values: np.ndarray, exact: np.ndarray | None = None,
                  exact_times: np.ndarray | None = None, errors: np.ndarray | None = None,
                  label: str = "simulated", exact_label: str = "exact", log: bool = False) -> Axes:
    """Plot concentrations ``values`` (M) at ``times`` (s) as markers, with error bars ``errors``
    (M) if given, and an ``exact`` curve (M) at ``exact_times`` (s; default ``times``) as a black
    line; in mM against ms, on a log y axis if ``log``."""
    t = np.asarray(times, dtype=float) * 1e3
    c = np.asarray(values, dtype=float) * 1e3
    if errors is None:
        ax.plot(t, c, "o", markersize=3, label=label)
    else:
        ax.errorbar(t, c, yerr=np.asarray(errors, dtype=float) * 1e3, fmt="o", markersize=3,
                    elinewidth=0.6, capsize=1.5, label=label)
    if exact is not None:
        te = t if exact_times is None else np.asarray(exact_times, dtype=float) * 1e3
        ax.plot(te, np.asarray(exact, dtype=float) * 1e3, "k-", linewidth=1.0, label=exact_label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("concentration (mM)")
    ax.legend(frameon=False)
    return ax
