"""Publication figures: geometry in 3D and in section, time courses, currents, occupancies.

Every function draws on the matplotlib Axes it is given (a 3D Axes for :func:`geometry`) and
returns it. Axes are labelled in the units people read: time in µs when the data span less than
:data:`US_BELOW`, else in ms (an Axes keeps the unit its first series gave it), lengths in nm,
currents in pA, concentrations in mM (inputs stay in cleftsim's base units: s, µm, A, M). Series
of more than :data:`SPARSE` points are drawn as lines (their spread as a band), sparser ones with
markers. The functions leave matplotlib's global settings alone; :func:`style` sets publication
defaults for a block, and :func:`save` writes a figure in several formats at once.

Colours: regions are labelled "object.region"; ``colors`` maps region labels and species (or
state set) names to matplotlib colours, and whatever it leaves out gets a default colour that
depends only on the model (the same in :func:`geometry` and :func:`section`), distinct from the
colour of every other region, species and state set of the model.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

import numpy as np

from cleftsim import units
from cleftsim.engine.simulation import Simulation
from cleftsim.model.model import GeometryObject, Model, Species
from cleftsim.results.ensemble import EnsembleResult, SweepResult
from cleftsim.results.result import Result

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
#: Room (inches) left for the y tick and axis labels between a 3D Axes and its legend.
LABEL_ROOM = 0.35
#: Fraction of its Axes' width or height (whichever is reached first) the box of a 3D scene fills.
FILL = 1.0
#: Time axes of data spanning less than this (s) are in µs, the others in ms.
US_BELOW = 0.5e-3
#: Series of at most this many points are drawn with markers, longer ones as plain lines.
SPARSE = 30
#: Least CIELAB distance between the default colours of two labels of a model (ΔE*ab).
DISTINCT = 20.0
_NM = 1e3                                  # nm per µm
_PLANES = {"xz": (1, 0, 2), "yz": (0, 1, 2), "xy": (2, 0, 1)}   # normal axis, horizontal, vertical
_BANDS = {"sd": "SD", "sem": "SEM", "ci": "{level:.0%} CI"}   # band: its name in the legend
_TIME_UNITS = {"µs": 1e6, "ms": 1e3}       # per second
_OUTLINE = (0.3, 0.3, 0.3)                 # edges of the geometry
# the legends of geometry and section: one column of small entries
_KEY = {"fontsize": "small", "markerscale": 2.5, "handlelength": 1.0, "handletextpad": 0.4, "labelspacing": 0.25,
        "borderaxespad": 0.0, "frameon": False}
# linear sRGB to CIE XYZ
_SRGB_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Publication rcParams (9–10 pt text, thin spines, no top/right spines, constrained layout,
    tight bounding box, editable text in PDF and SVG) inside a ``with`` block."""
    import matplotlib

    with matplotlib.rc_context(STYLE):
        yield


def save(fig: Figure, stem: str | os.PathLike, formats: str | Sequence[str] = ("png", "pdf", "svg"),
         dpi: float = 200) -> list[Path]:
    """Save ``fig`` as ``<stem>.<ext>`` for each format (one, e.g. ``"png"``, or several; raster
    formats at ``dpi`` dots per inch), creating the parent directory; returns the paths written.
    Every format is checked before any file is written."""
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    if isinstance(fig, Axes):
        raise TypeError("save: pass the Figure, ax.figure, not an Axes")
    if not isinstance(fig, Figure):
        raise TypeError(f"save: fig must be a matplotlib Figure (e.g. fig, ax = plt.subplots()), got {fig!r}")
    formats = [formats] if isinstance(formats, str) else list(formats)
    supported = fig.canvas.get_supported_filetypes()
    for ext in formats:
        if not (isinstance(ext, str) and ext.lstrip(".").lower() in supported):
            raise ValueError(f"save: format {ext!r} is not supported; choose from {sorted(supported)} "
                             f"(nothing was written)")
    if not formats:
        raise ValueError("save: formats is empty; give e.g. formats=('png', 'pdf')")
    if not (units.is_number(dpi) and dpi > 0):
        raise ValueError(f"save: dpi must be a number of dots per inch > 0, e.g. 300, got {dpi!r}")
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_name(f"{stem.name}.{ext.lstrip('.')}") for ext in formats]
    for path in paths:
        fig.savefig(path, dpi=dpi)
    return paths


# ---- checks -----------------------------------------------------------------------------------
def _axes(ax: Any, fn: str, three_d: bool = False) -> None:
    """Refuse anything but a matplotlib Axes of the kind ``fn`` draws on (3D or 2D)."""
    from matplotlib.axes import Axes

    kind, make = ("3D", "ax = fig.add_subplot(projection='3d')") if three_d else ("2D", "fig, ax = plt.subplots()")
    if not isinstance(ax, Axes):
        swapped = isinstance(ax, (Model, Simulation, Result, EnsembleResult))
        raise TypeError(f"{fn}: ax must be a matplotlib {kind} Axes ({make}), got {type(ax).__name__}"
                        + (f"; the Axes comes first: {fn}(ax, ...)" if swapped else ""))
    if (ax.name == "3d") != three_d:
        raise TypeError(f"{fn}: ax is a {'2D' if three_d else '3D'} Axes, but {fn} draws in {kind}; create the Axes "
                        f"{'with' if three_d else 'without'} projection='3d': {make}")


def _count(value: Any, name: str, fn: str) -> int:
    """A whole number >= 0."""
    if not units.is_whole(value):
        raise ValueError(f"{fn}: {name} must be a whole number >= 0, got {value!r}")
    return int(value)


def _model(model: Any, sim: Any, fn: str) -> None:
    """Refuse a ``model`` that is not a Model, or a ``sim`` that is neither a Simulation nor None."""
    if not isinstance(model, Model):
        raise TypeError(f"{fn}: model must be a cleftsim Model, got {type(model).__name__}")
    if sim is not None and not isinstance(sim, Simulation):
        raise TypeError(f"{fn}: sim must be the Simulation whose molecules to draw (model.simulation()) or None, "
                        f"got {type(sim).__name__}")


def _series(data: Any, fn: str) -> None:
    """Refuse data that is not a Result or an EnsembleResult."""
    if isinstance(data, (Result, EnsembleResult)):
        return
    hint = {Simulation: "; a Simulation holds its present state only: plot its Result, sim.sample(t_end, every) "
                        "or model.run()",
            SweepResult: "; a SweepResult holds one ensemble per point: plot one, e.g. sweep[0]"}.get(type(data), "")
    raise TypeError(f"{fn}: data must be a Result (model.run()) or an EnsembleResult (cs.run_ensemble()), "
                    f"got {type(data).__name__}{hint}")


def _molar(value: Any, name: str) -> float:
    return units.to_base(value, "concentration", name)


# ---- colours ----------------------------------------------------------------------------------
def _lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB coordinates (n, 3) of sRGB colours (n, 3) in [0, 1], D65 white."""
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = linear @ _SRGB_XYZ.T / _SRGB_XYZ.sum(axis=1)        # relative to white
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.column_stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])])


def _distinct(first: Sequence, n: int, taken: list) -> list[tuple]:
    """``n`` colours for labels after those coloured ``taken``: the k-th colour of the palette
    ``first`` if it is at least DISTINCT (CIELAB) from all colours so far, else (and after the
    palette) the colour of a grid of sRGB colours of moderate lightness and chroma farthest from
    all colours so far."""
    grid = np.stack(np.meshgrid(*[np.linspace(0.0, 1.0, 9)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    lab = _lab(grid)
    keep = (lab[:, 0] > 30) & (lab[:, 0] < 85) & (np.hypot(lab[:, 1], lab[:, 2]) < 75)
    grid, lab = grid[keep], lab[keep]
    so_far = _lab(np.array(taken, dtype=float).reshape(-1, 3))
    gap = np.min(np.linalg.norm(lab[:, None] - so_far[None], axis=2), axis=1, initial=np.inf)
    out = []
    for k in range(n):
        c = np.asarray(first[k], dtype=float)[:3] if k < len(first) else None
        if c is None or np.min(np.linalg.norm(so_far - _lab(c[None]), axis=1), initial=np.inf) < DISTINCT:
            c = grid[np.argmax(gap)]
        c_lab = _lab(c[None])
        out.append(tuple(c))
        so_far = np.vstack([so_far, c_lab])
        gap = np.minimum(gap, np.linalg.norm(lab - c_lab, axis=1))
    return out


def _palette(model: Model, colors: Mapping[str, Any] | None, extra: Sequence[str] = ()) -> dict[str, Any]:
    """Colour of every region label, species and state set of the model, and of the labels
    ``extra`` (after them, in their order): ``colors`` first, else regions from Set2 and species
    from tab10 as far as these are distinct, the others spread out in CIELAB (:func:`_distinct`)."""
    import matplotlib

    regions = [f"{o.name}.{r}" for o in model.objects for r in o.mesh.region_names]
    species = [s.name for s in list(model.species) + list(model.surface_species)]
    others = [st.name for handle in model.schemes.values() for st in handle.sets.values()]
    others += [lab for lab in dict.fromkeys(extra) if lab not in {*regions, *species, *others}]
    taken = [(1.0, 1.0, 1.0), _OUTLINE]                      # the background and the outlines
    labels = []
    for group, first in ((regions, matplotlib.colormaps["Set2"].colors),
                         (species, matplotlib.colormaps["tab10"].colors), (others, ())):
        labels += group
        taken += _distinct(first, len(group), taken)
    return {**dict(zip(labels, taken[2:])), **(colors or {})}


# ---- geometry ---------------------------------------------------------------------------------
def _regions(model: Model, obj: GeometryObject) -> list[tuple[str, str]]:
    """(label "object.region", name in a legend) of each region of ``obj``: the legend leaves out
    the object's name when the model has only one object."""
    return [(f"{obj.name}.{r}", r if len(model.objects) == 1 else f"{obj.name}.{r}") for r in obj.mesh.region_names]


def _molecules(model: Model, sim: Simulation, species: Any) -> list[tuple[str, np.ndarray]]:
    """(label, positions (n, 3) µm) of each species to draw that has molecules now: ``species``
    (one or a sequence of volume species, surface species or state sets), or every species of the model."""
    if model is not sim.model and model is not sim.source:
        raise ValueError("sim is a simulation of another model; pass the model it was made from")
    volume = {s.name for s in model.species}
    if species is None:
        wanted = list(model.species) + list(model.surface_species)
    else:
        wanted = [species] if isinstance(species, str) or hasattr(species, "name") else list(species)
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


def _subsample(pos: np.ndarray, most: int, rng: np.random.Generator) -> np.ndarray:
    if len(pos) <= most:
        return pos
    return pos[np.sort(rng.choice(len(pos), most, replace=False))]


def _shown(label: str, n: int, shown: int) -> str:
    return f"{label} (n = {n})" if shown == n else f"{label} ({shown} of {n})"


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
    """Limits tight around ``points`` (n, 3), a box aspect that makes x, y and z scale alike, and
    a zoom that makes the box, seen from the Axes' current view, fill FILL of the Axes."""
    from mpl_toolkits.mplot3d.proj3d import proj_transform

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
    corners = mid + span / 2 * np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)])
    x, y, _ = proj_transform(*corners.T, ax.get_proj())
    ax.set_box_aspect(span.copy(), zoom=FILL * min(ax.viewLim.width / np.ptp(x), ax.viewLim.height / np.ptp(y)))


def geometry(ax: Axes3D, model: Model, sim: Simulation | None = None, species: Any = None,
             regions: str | Sequence[str] | None = None, colors: Mapping[str, Any] | None = None,
             alpha: float = 0.25, max_molecules: int = 3000, seed: int = 0, title: str | None = None) -> Axes3D:
    """Draw the model's geometry on a 3D Axes, triangles coloured by region, in nm.

    ``ax`` must be a 3D Axes (``fig.add_subplot(projection='3d')``). ``regions``: a label
    "object.region" or a sequence of them to draw (default all). With ``sim``, the molecules at
    its current time are drawn too: ``species`` (one or a sequence of volume or surface species,
    or state sets; default every species with molecules), at most ``max_molecules`` of each (a
    random subset, from ``seed``). Faces are shaded with opacity ``alpha`` and outlined along their
    creases and region borders. The box fills the Axes (limits tight around what is drawn, equal
    scales, zoomed for the current view) with the z axis on its left; the legend, a column of
    small entries right of it, names the regions (without the object's name if the model has
    one) and the species with their numbers ("n = 40", or "300 of 4000" when a subset is drawn).
    """
    from matplotlib.patches import Patch
    from matplotlib.transforms import ScaledTranslation
    from mpl_toolkits.mplot3d.art3d import Line3DCollection, Poly3DCollection

    _axes(ax, "geometry", three_d=True)
    _model(model, sim, "geometry")
    max_molecules, seed = _count(max_molecules, "max_molecules", "geometry"), _count(seed, "seed", "geometry")
    if not (units.is_number(alpha) and 0 <= alpha <= 1):
        raise ValueError(f"geometry: alpha must be an opacity from 0 to 1, got {alpha!r}")
    mols = [] if sim is None else _molecules(model, sim, species)
    palette = _palette(model, colors, [label for label, _ in mols])
    if regions is not None:
        regions = [regions] if isinstance(regions, str) else list(regions)
        known = [lab for obj in model.objects for lab, _ in _regions(model, obj)]
        unknown = sorted(set(regions) - set(known))
        if unknown:
            raise ValueError(f"geometry: unknown regions {unknown}; the model's regions are {known}")
    polys, faces, outline, handles = [], [], [], []
    for obj in model.objects:
        mesh = obj.mesh
        labels, names = map(np.array, zip(*_regions(model, obj)))
        drawn = np.ones(mesh.n_triangles, bool) if regions is None else np.isin(labels[mesh.region_ids], regions)
        tri = mesh.triangles[drawn]
        if not len(tri):
            continue
        verts = mesh.vertices * _NM
        polys.append(verts[tri])
        faces += [palette[lab] for lab in labels[mesh.region_ids[drawn]]]
        outline.append(_feature_edges(verts, tri, mesh.region_ids[drawn], mesh.normals[drawn]))
        handles += [Patch(facecolor=palette[labels[i]], edgecolor=_OUTLINE, linewidth=0.4, label=names[i])
                    for i in np.unique(mesh.region_ids[drawn])]
    points = [np.zeros((0, 3))]
    if polys:
        polys = np.concatenate(polys)
        ax.add_collection3d(Poly3DCollection(polys, facecolors=faces, alpha=alpha, linewidths=0))
        ax.add_collection3d(Line3DCollection(np.concatenate(outline), colors=[_OUTLINE], linewidths=0.4))
        points.append(polys.reshape(-1, 3))
    rng = np.random.Generator(np.random.PCG64(seed))
    for label, pos in mols:
        xyz = _subsample(pos, max_molecules, rng) * _NM
        handles.append(ax.scatter(*xyz.T, s=2, linewidths=0, depthshade=False, color=palette[label],
                                  label=_shown(label, len(pos), len(xyz))))
        points.append(xyz)
    points = np.concatenate(points)
    if len(points):
        _set_equal_3d(ax, points)
    ax.set_xlabel("x (nm)")
    ax.set_ylabel("y (nm)")
    ax.zaxis.set_rotate_label(False)                     # (matplotlib may turn it upside down)
    ax.set_zlabel("z (nm)", rotation=90)
    ax.zaxis.set_ticks_position("lower")                 # z axis left of the box, the legend right of it
    ax.zaxis.set_label_position("lower")
    if title is not None:
        ax.set_title(title)
    if handles:
        # right of the Axes, clear of the y tick and axis labels (they reach out past its side)
        clear = ScaledTranslation(LABEL_ROOM, 0.0, ax.figure.dpi_scale_trans)
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), bbox_transform=ax.transAxes + clear,
                  **_KEY)
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
            thickness: Any = None, species: Any = None, colors: Mapping[str, Any] | None = None,
            max_molecules: int = 3000, seed: int = 0) -> Axes:
    """Draw a cut through the geometry in the plane ``plane`` ("xz": y = ``at``, "yz": x = ``at``,
    "xy": z = ``at``; ``at`` in µm or a length string), in nm with equal aspect.

    The lines where the plane meets the surfaces are coloured by region (a face lying exactly in
    the plane is not drawn). With ``sim``, the molecules within ±``thickness``/2 of the plane
    (default 20 nm) are drawn as dots: ``species``, ``max_molecules`` and ``seed`` as in
    :func:`geometry`, and so are the colours and the legend. ``ax`` must be a 2D Axes.
    """
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    _axes(ax, "section")
    _model(model, sim, "section")
    max_molecules, seed = _count(max_molecules, "max_molecules", "section"), _count(seed, "seed", "section")
    if plane not in _PLANES:
        raise ValueError(f"section: plane must be one of {list(_PLANES)}, got {plane!r}")
    normal, h, v = _PLANES[plane]
    at = units.length(at, "section: at")
    half = (SECTION_THICKNESS if thickness is None else units.length(thickness, "section: thickness")) / 2
    if not half > 0:
        raise ValueError(f"section: thickness must be positive, got {thickness!r}")
    mols = [] if sim is None else _molecules(model, sim, species)
    palette = _palette(model, colors, [label for label, _ in mols])
    segments, seg_colors, handles = [], [], []
    for obj in model.objects:
        mesh = obj.mesh
        seg, tri = _cut(mesh.vertices, mesh.triangles, normal, at)
        labels, names = map(np.array, zip(*_regions(model, obj)))
        segments.append(seg[:, :, [h, v]] * _NM)
        seg_colors += [palette[lab] for lab in labels[mesh.region_ids[tri]]]
        handles += [Line2D([], [], color=palette[labels[i]], label=names[i]) for i in np.unique(mesh.region_ids[tri])]
    if seg_colors:
        ax.add_collection(LineCollection(np.concatenate(segments), colors=seg_colors, linewidths=1.2))
    rng = np.random.Generator(np.random.PCG64(seed))
    for label, pos in mols:
        near = pos[np.abs(pos[:, normal] - at) <= half]
        if not len(near):
            continue
        xy = _subsample(near, max_molecules, rng)[:, [h, v]] * _NM
        handles.append(ax.scatter(*xy.T, s=3, linewidths=0, zorder=3, color=palette[label],
                                  label=_shown(label, len(near), len(xy))))
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.set_xlabel(f"{plane[0]} (nm)")
    ax.set_ylabel(f"{plane[1]} (nm)")
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), **_KEY)
    return ax


# ---- time courses -------------------------------------------------------------------------------
def _time_axis(ax: Axes, *times: np.ndarray) -> list[np.ndarray]:
    """``times`` (s) in the unit of the Axes' time axis, which is labelled: the unit this module
    gave the Axes before (read from its x label), else µs if all the times together span less
    than US_BELOW, else ms."""
    times = [np.asarray(t, dtype=float) for t in times]
    unit = next((u for u in _TIME_UNITS if ax.get_xlabel() == f"time ({u})"), None)
    if unit is None:
        every = np.concatenate([t.ravel() for t in times])
        unit = "µs" if every.size and np.ptp(every) < US_BELOW else "ms"
        ax.set_xlabel(f"time ({unit})")
    return [t * _TIME_UNITS[unit] for t in times]


def _marker(n: int) -> dict[str, Any]:
    """Line2D keywords of a series of ``n`` points: markers if it is sparse (at most SPARSE points)."""
    return {"marker": "o", "markersize": 3} if n <= SPARSE else {}


def _is_count(values: np.ndarray) -> bool:
    """Whether every value is a non-negative integer (molecules, receptors, events)."""
    values = np.asarray(values)
    return bool(np.all(values >= 0) and np.all(values == np.round(values)))


def timecourse(ax: Axes, data: Result | EnsembleResult, name: str, band: str | None = "sd", level: float = 0.95,
               scale: float = 1.0, label: str | None = None, color: Any = None, ylabel: str | None = None,
               trials: int = 0) -> Axes:
    """Plot observable ``name`` × ``scale`` against time: a :class:`Result`'s trace, or an
    :class:`EnsembleResult`'s mean over trials with a shaded ``band`` ("sd", "sem", "ci" at
    ``level``, or None) and the first ``trials`` individual trials as thin light lines.

    A count (every value a non-negative integer) keeps its band at or above 0: its "sd" band is
    the 16th to 84th percentile of the trials at each time (the 68 % that ±1 SD holds of a normal
    distribution; legend "mean, 68 % of trials"), and a "sem" or "ci" band is clipped at 0, as its
    legend entry then says. A series of at most SPARSE samples has markers on its line.
    The legend entry is ``label`` (default: none for a Result's trace, the statistic for an
    ensemble, e.g. "mean ± SD (n = 40)"). ``ylabel`` sets the y label; without it, ``name`` is
    added to the y label, which thus names every series drawn on the Axes.
    """
    _axes(ax, "timecourse")
    _series(data, "timecourse")
    if band is not None and band not in _BANDS:
        raise ValueError(f"timecourse: band must be one of {list(_BANDS)} or None, got {band!r}")
    if not (units.is_number(level) and 0 < level < 1):
        percent = f"; for {level:g} % give level={level / 100:g}" if units.is_number(level) and 1 < level < 100 else ""
        raise ValueError(f"timecourse: level must be a confidence level between 0 and 1, e.g. 0.95, got {level!r}"
                         f"{percent}")
    trials = _count(trials, "trials", "timecourse")
    t, = _time_axis(ax, data.times)
    marker = _marker(len(t))
    if isinstance(data, EnsembleResult):
        n = len(data)
        band = band if n > 1 else None                      # no spread from a single trial
        mean, count = data.mean(name), _is_count(data[name])
        stat = f"mean ± {_BANDS[band].format(level=level)}" if band else "mean"
        if band == "sd" and count:
            low, high = np.percentile(data[name], [15.87, 84.13], axis=0)   # ±1 SD of a normal distribution
            stat = "mean, 68 % of trials"
        elif band:
            if band == "ci":
                low, high = data.ci(name, level)
            else:
                spread = data.sd(name) if band == "sd" else data.sem(name)
                low, high = mean - spread, mean + spread
            if count and np.any(low < 0):
                low = np.maximum(low, 0.0)
                stat += ", clipped at 0"
        stat += f" (n = {n})"
        line, = ax.plot(t, mean * scale, color=color, zorder=3, label=stat if label is None else f"{label}: {stat}",
                        **marker)
        color = line.get_color()
        if band:
            ax.fill_between(t, low * scale, high * scale, color=color, alpha=0.25, linewidth=0, zorder=1)
        for trace in data[name][:trials]:
            ax.plot(t, trace * scale, color=color, alpha=0.35, linewidth=0.5, zorder=2)
    else:
        ax.plot(t, data[name] * scale, color=color, label=label, **marker)
    ax.margins(x=0)
    shown = ax.get_ylabel()
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    elif not shown:
        ax.set_ylabel(name)
    elif name not in shown.split(", "):
        ax.set_ylabel(f"{shown}, {name}")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False)
    return ax


def current(ax: Axes, data: Result | EnsembleResult, name: str = "current", band: str | None = "sd",
            **kw: Any) -> Axes:
    """Plot a current observable stored in A (inward negative) in pA, with a thin zero line;
    other keywords as :func:`timecourse`."""
    _axes(ax, "current")
    _series(data, "current")
    timecourse(ax, data, name, band=band, scale=1e12, **{"ylabel": "current (pA)", **kw})
    ax.axhline(0.0, color="0.5", linewidth=0.5, zorder=0)
    return ax


def occupancy(ax: Axes, data: Result | EnsembleResult, names: str | Sequence[str], total: int,
              band: str | None = None, labels: Sequence[str] | None = None) -> Axes:
    """Plot the fraction of ``total`` receptors counted by each observable in ``names`` (one line
    each: the trace, or the ensemble mean with an optional ``band``), labelled by ``labels``
    (default: the names)."""
    _axes(ax, "occupancy")
    _series(data, "occupancy")
    names = [names] if isinstance(names, str) else list(names)
    labels = names if labels is None else [labels] if isinstance(labels, str) else list(labels)
    if len(labels) != len(names):
        raise ValueError(f"occupancy: {len(labels)} labels for {len(names)} observables")
    if not units.is_whole(total, 1):
        raise ValueError(f"occupancy: total must be a positive number of receptors, got {total!r}")
    for name, lab in zip(names, labels):
        timecourse(ax, data, name, band=band, scale=1.0 / total, label=lab, ylabel="fraction of receptors")
    ax.set_ylim(bottom=0.0)
    return ax


def concentration(ax: Axes, times: np.ndarray, values: np.ndarray, exact: np.ndarray | None = None,
                  exact_times: np.ndarray | None = None, errors: np.ndarray | None = None,
                  label: str = "simulated", exact_label: str = "exact", log: bool = False) -> Axes:
    """Plot concentrations ``values`` (M) at ``times`` (s) with uncertainties ``errors`` (M) if
    given, and an ``exact`` curve (M) at ``exact_times`` (s; default ``times``) as a black line;
    in mM, on a log y axis if ``log``. A sparse series (at most SPARSE points) is drawn as
    markers with error bars, a longer one as a line in a band ± ``errors`` clipped at 0. Times may
    be time strings, concentrations strings such as ``"1 mM"``; ``errors`` is one value per
    point or one for all, ``exact`` one value per exact time."""
    _axes(ax, "concentration")
    if exact is None and exact_times is not None:
        raise ValueError("concentration: exact_times without exact; give the exact curve too, or leave both out")
    t = units.array(times, units.time, "concentration: times")
    c = units.array(values, _molar, "concentration: values") * 1e3
    e = None if errors is None else units.array(errors, _molar, "concentration: errors") * 1e3
    te = t if exact_times is None else units.array(exact_times, units.time, "concentration: exact_times")
    ce = None if exact is None else units.array(exact, _molar, "concentration: exact") * 1e3
    exact_of = ("exact_times", "exact time") if exact_times is not None else ("times", "time")
    for key, a, (like, per), b in (("values", c, ("times", "time"), t), ("errors", e, ("values", "value"), c),
                                   ("exact", ce, exact_of, te)):
        if a is not None and not (b.ndim == 1 and (a.shape == b.shape or (key == "errors" and a.ndim == 0))):
            raise ValueError(f"concentration: {key} has shape {a.shape} and {like} {b.shape}; give one entry of {key} "
                             f"per {per}" + (" (or one error for all)" if key == "errors" else ""))
    t, te = _time_axis(ax, t, te)
    if len(t) <= SPARSE:
        ax.errorbar(t, c, yerr=e, fmt="o", markersize=3, elinewidth=0.6, capsize=1.5, label=label)
    else:
        line, = ax.plot(t, c, label=label)
        if e is not None:
            ax.fill_between(t, np.maximum(c - e, 0.0), c + e, color=line.get_color(), alpha=0.25, linewidth=0)
    if ce is not None:
        ax.plot(te, ce, "k-", linewidth=1.0, label=exact_label)
    if log:
        ax.set_yscale("log")
    ax.set_ylabel("concentration (mM)")
    ax.legend(frameon=False)
    return ax
