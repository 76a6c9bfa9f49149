"""Figures (cleftsim.plot) on the Agg backend: each function returns its Axes, labels the units,
draws something, and the figure saves to a non-blank image; the plotted numbers are the data
converted to the units on the axes (µs or ms, nm, pA, mM, fractions). Also: the 3D scene fills its
Axes beside a compact legend, every species, state and region of a model has its own colour, count
bands stay at or above 0, a y label names every series on its Axes, time axes are in µs for short
spans, and long series are lines while sparse ones have markers."""
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba_array  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402
from mpl_toolkits.mplot3d.art3d import Poly3DCollection  # noqa: E402

import cleftsim as cs  # noqa: E402

FACES = {"left", "right", "front", "back", "bottom", "top"}          # in the legend: a one-object model
N_AMPA = 20


@pytest.fixture(scope="module")
def model():
    m = cs.Model(dt="1 us", seed=1)
    glu = m.add_species("glu", D="0.33 um^2/ms")
    box = m.add_geometry(cs.geometry.box(size=(0.4, 0.4, 0.05)), name="box")
    ampa = m.add_scheme(cs.schemes.ampa_jonas1993(ligand=glu))
    m.place(ampa, region=box.region("bottom"), n=N_AMPA)
    m.release(glu, n=200, at=(0, 0, 0))
    m.count(ampa.open, name="AMPA_open")
    m.count(ampa.bound, name="AMPA_bound")
    return m


@pytest.fixture(scope="module")
def sim(model):
    return model.simulation().run("20 us")


@pytest.fixture(scope="module")
def result(model):
    return model.run(t_end="50 us", every="5 us")


@pytest.fixture(scope="module")
def ens(model):
    return cs.run_ensemble(model, trials=3, t_end="50 us", every="5 us", executor="serial", progress=False)


@pytest.fixture(scope="module")
def ca1():
    """The CA1 preset 20 µs after its release: 6 regions, 16 species, 9 of them with molecules."""
    m = cs.presets.ca1_synapse()
    return m, m.simulation().run("20 us")


@pytest.fixture
def fig():
    f = plt.figure(figsize=(3, 2.5))
    yield f
    plt.close(f)


def assert_drawn(fig, ax, tmp_path, units=()):
    """Labels name the units, the Axes has artists, and the saved PNG is not blank."""
    labels = [ax.get_xlabel(), ax.get_ylabel()] + ([ax.get_zlabel()] if hasattr(ax, "get_zlabel") else [])
    assert all(labels)
    for unit, label in zip(units, labels):
        assert f"({unit})" in label
    assert ax.lines or ax.collections
    (png,) = cs.plot.save(fig, tmp_path / "fig", formats=("png",), dpi=50)
    assert png.stat().st_size > 0
    assert mpimg.imread(png)[..., :3].std() > 0


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def legend_colors(ax):
    """{legend label without its count: RGB} of a geometry or section legend."""
    legend = ax.get_legend()
    out = {}
    for text, handle in zip(legend.get_texts(), legend.legend_handles):
        color = handle.get_color() if hasattr(handle, "get_xdata") else handle.get_facecolor()   # a Line2D
        out[text.get_text().split(" (")[0]] = tuple(to_rgba_array(color)[0, :3])
    return out


def test_geometry(model, sim, fig, tmp_path):
    ax = fig.add_subplot(projection="3d")
    assert cs.plot.geometry(ax, model, sim, title="cleft") is ax
    assert_drawn(fig, ax, tmp_path, units=("nm", "nm", "nm"))
    texts = legend_texts(ax)
    assert FACES <= set(texts)
    assert f"glu (n = {sim.count('glu')})" in texts
    assert any(t.startswith("AMPA_C0 (n = ") for t in texts)         # surface molecules
    assert ax.get_title() == "cleft"
    # nm, equal aspect: the 400 x 400 x 50 nm box fills the limits
    assert np.allclose([ax.get_xlim(), ax.get_ylim(), ax.get_zlim()], [[-200, 200], [-200, 200], [-25, 25]])


def test_geometry_options(model, sim, fig):
    ax = fig.add_subplot(projection="3d")
    cs.plot.geometry(ax, model, sim, species=["glu"], regions=["box.bottom"], colors={"box.bottom": "red"},
                     max_molecules=50)
    texts = legend_texts(ax)
    assert texts == ["bottom", f"glu (50 of {sim.count('glu')})"]
    assert tuple(ax.get_legend().get_patches()[0].get_facecolor()[:3]) == (1.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="box.lid"):
        cs.plot.geometry(ax, model, regions=["box.lid"])


def test_geometry_fills_axes(ca1):
    """The scene fills its Axes (before: it used 60 to 80 % of it beside a legend larger than the
    Axes); the legend is small beside it and clear of it."""
    model, sim = ca1
    with cs.plot.style():
        fig = plt.figure(figsize=(4.5, 3.5))
        ax = cs.plot.geometry(fig.add_subplot(projection="3d"), model, sim)
        fig.canvas.draw()
    box, key = ax.get_window_extent(), ax.get_legend().get_window_extent()
    poly = next(c for c in ax.collections if isinstance(c, Poly3DCollection))
    scene = Bbox.null()                                               # the drawn faces, on the screen
    scene.update_from_data_xy(ax.transData.transform(np.concatenate([p.vertices for p in poly.get_paths()])))
    plt.close(fig)
    assert max(scene.width / box.width, scene.height / box.height) > 0.85
    assert key.width * key.height < 0.5 * box.width * box.height
    assert not key.overlaps(scene)
    vertices = model.objects[0].mesh.vertices * 1e3                   # tight limits: the geometry's extent
    limits = np.stack([vertices.min(axis=0), vertices.max(axis=0)], axis=1)
    assert np.allclose([ax.get_xlim(), ax.get_ylim(), ax.get_zlim()], limits)


def test_colors_distinct(ca1, fig):
    """Every region, species and state drawn has its own colour (before: tab10 repeated, AMPA_C2
    and GluT_T both red), the same in geometry and section; given colours win."""
    model, sim = ca1
    ax3 = cs.plot.geometry(fig.add_subplot(1, 2, 1, projection="3d"), model, sim)
    ax2 = cs.plot.section(fig.add_subplot(1, 2, 2), model, sim, thickness="2 um")
    colors = legend_colors(ax3)
    shown = [s.name for s in model.species + model.surface_species if s.name in colors]
    assert len(shown) > 6 and "AMPA_C2" in shown and "GluT_T" in shown
    assert len(set(colors.values())) == len(colors)                 # regions, species and states
    assert all(np.allclose(c, colors[k]) for k, c in legend_colors(ax2).items())
    state_sets = [st for handle in model.schemes.values() for st in handle.sets.values()]
    ax2.clear()
    sets = legend_colors(cs.plot.section(ax2, model, sim, species=state_sets, thickness="2 um"))
    sets = {k: c for k, c in sets.items() if k in {st.name for st in state_sets}}
    assert len(sets) > 3 and len(set(sets.values()) | set(colors.values())) == len(sets) + len(colors)
    fig.clear()
    given = {"glu": "black", "synapse.psd": "red"}
    given = legend_colors(cs.plot.geometry(fig.add_subplot(projection="3d"), model, sim, colors=given))
    assert given["glu"] == (0, 0, 0) and given["psd"] == (1, 0, 0)
    assert all(given[k] == c for k, c in colors.items() if k not in ("glu", "psd"))


def test_section(model, sim, fig, tmp_path):
    ax = fig.add_subplot()
    assert cs.plot.section(ax, model, sim, plane="xz", at="0 nm", thickness="500 nm") is ax
    assert_drawn(fig, ax, tmp_path, units=("nm", "nm"))
    texts = legend_texts(ax)
    assert set(texts[:4]) == {"left", "right", "bottom", "top"}      # the faces y = 0 crosses
    assert f"glu (n = {sim.count('glu')})" in texts                  # a slab thicker than the box holds all
    segments = np.concatenate(ax.collections[0].get_segments())
    on_wall = np.isclose(np.abs(segments[:, 0]), 200) | np.isclose(np.abs(segments[:, 1]), 25)
    assert len(segments) and on_wall.all()
    assert ax.get_aspect() == 1.0


def test_section_planes(model, fig):
    ax = fig.add_subplot()
    cs.plot.section(ax, model, plane="xy", at=0.0)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x (nm)", "y (nm)")
    assert set(legend_texts(ax)) == FACES - {"bottom", "top"}
    with pytest.raises(ValueError, match="plane"):
        cs.plot.section(ax, model, plane="xx")


def test_timecourse_result(result, fig, tmp_path):
    ax = fig.add_subplot()
    assert cs.plot.timecourse(ax, result, "AMPA_bound", scale=2.0, label="bound") is ax
    assert_drawn(fig, ax, tmp_path, units=("µs",))                  # 50 µs of data
    line = ax.lines[0]
    assert np.allclose(line.get_xdata(), result.times * 1e6)
    assert np.allclose(line.get_ydata(), 2.0 * result["AMPA_bound"])
    assert ax.get_ylabel() == "AMPA_bound" and legend_texts(ax) == ["bound"]


def test_timecourse_ensemble(ens, fig, tmp_path):
    ax = fig.add_subplot()
    assert cs.plot.timecourse(ax, ens, "AMPA_bound", band="sem", trials=2, ylabel="bound receptors") is ax
    assert_drawn(fig, ax, tmp_path, units=("µs",))
    mean, sem = ens.mean("AMPA_bound"), ens.sem("AMPA_bound")
    assert np.allclose(ax.lines[0].get_ydata(), mean)
    assert len(ax.lines) == 3 and len(ax.collections) == 1          # mean, two trials; the band
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    low = np.maximum(mean - sem, 0)                                  # a count: clipped at 0
    assert np.isclose(band.max(), (mean + sem).max()) and np.isclose(band.min(), low.min())
    clipped = ", clipped at 0" if np.any(mean - sem < 0) else ""
    assert legend_texts(ax) == [f"mean ± SEM{clipped} (n = 3)"]
    ax.clear()
    cs.plot.timecourse(ax, ens, "AMPA_bound", band="ci", level=0.9, label="bound")
    assert legend_texts(ax)[0].startswith("bound: mean ± 90% CI")
    ax.clear()
    cs.plot.timecourse(ax, ens, "AMPA_bound", band=None)
    assert not ax.collections and legend_texts(ax) == ["mean (n = 3)"]
    with pytest.raises(ValueError, match="band"):
        cs.plot.timecourse(ax, ens, "AMPA_bound", band="iqr")


def test_current(result, ens, fig, tmp_path):
    amps = -1e-12 * np.linspace(0.0, 5.0, len(result.times))        # 0 to -5 pA
    res = cs.Result(result.times, {"current": amps}, result.metadata, result.diagnostics)
    ax = fig.add_subplot()
    assert cs.plot.current(ax, res) is ax
    assert_drawn(fig, ax, tmp_path, units=("µs", "pA"))
    assert np.allclose(ax.lines[0].get_ydata(), amps * 1e12)
    assert any(np.all(np.asarray(line.get_ydata()) == 0) for line in ax.lines[1:])   # the zero line
    ax.clear()
    cur = cs.EnsembleResult(ens.times, {"I": -0.7e-12 * ens["AMPA_bound"]}, ens.seed, ens.trials, {})
    cs.plot.current(ax, cur, name="I", band="sd")
    assert np.allclose(ax.lines[0].get_ydata(), -0.7 * ens.mean("AMPA_bound"))
    assert ax.get_ylabel() == "current (pA)"


def test_occupancy(ens, result, fig, tmp_path):
    ax = fig.add_subplot()
    assert cs.plot.occupancy(ax, ens, ["AMPA_open", "AMPA_bound"], total=N_AMPA, band="sd") is ax
    assert_drawn(fig, ax, tmp_path, units=("µs",))
    assert ax.get_ylabel() == "fraction of receptors" and ax.get_ylim()[0] == 0
    means = [line.get_ydata() for line in ax.lines]
    assert np.allclose(means[0], ens.mean("AMPA_open") / N_AMPA)
    assert np.allclose(means[1], ens.mean("AMPA_bound") / N_AMPA)
    assert [t.split(":")[0] for t in legend_texts(ax)] == ["AMPA_open", "AMPA_bound"]
    ax.clear()
    cs.plot.occupancy(ax, result, "AMPA_bound", total=N_AMPA, labels=["bound"])
    assert np.allclose(ax.lines[0].get_ydata(), result["AMPA_bound"] / N_AMPA)
    with pytest.raises(ValueError, match="labels"):
        cs.plot.occupancy(ax, result, ["AMPA_open", "AMPA_bound"], total=N_AMPA, labels=["open"])
    with pytest.raises(ValueError, match="total"):
        cs.plot.occupancy(ax, result, "AMPA_open", total=0)


def test_count_band_stays_nonnegative(fig):
    """A count's band stays >= 0 (before: mean − SD reached −0.6 where most trials had 0); a signed
    current keeps mean ± SD."""
    counts = np.array([[9, 4, 0, 0, 0, 0], [8, 0, 3, 0, 0, 0], [9, 2, 0, 1, 0, 0], [7, 0, 0, 0, 2, 0]], float)
    times = np.arange(6) * 2e-4                                      # 0 to 1 ms
    ens = cs.EnsembleResult(times, {"n": counts, "I": -1e-12 * counts + 0.3e-12}, 1, np.arange(4), {})
    assert np.any(ens.mean("n") - ens.sd("n") < 0)
    ax = fig.add_subplot()
    for band in ("sd", "sem", "ci"):
        ax.clear()
        cs.plot.timecourse(ax, ens, "n", band=band)
        assert ax.collections[0].get_paths()[0].vertices[:, 1].min() >= 0, band
    assert legend_texts(ax) == ["mean ± 95% CI, clipped at 0 (n = 4)"]
    ax.clear()
    cs.plot.timecourse(ax, ens, "n", band="sd")
    assert legend_texts(ax) == ["mean, 68 % of trials (n = 4)"]
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert np.allclose([band.min(), band.max()], [0, np.percentile(counts, 84.13, axis=0).max()])
    ax.clear()
    cs.plot.current(ax, ens, "I", band="sd")                        # signed: mean ± SD, below 0 and above
    mean, sd = ens.mean("I") * 1e12, ens.sd("I") * 1e12
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert np.allclose([band.min(), band.max()], [(mean - sd).min(), (mean + sd).max()])
    assert band.max() > 0 and legend_texts(ax) == ["mean ± SD (n = 4)"]


def test_ylabel_names_every_series(result, fig):
    """Two series on one Axes: the y label names both (before: only the last one drawn)."""
    ax = fig.add_subplot()
    cs.plot.timecourse(ax, result, "AMPA_open", label="open")
    cs.plot.timecourse(ax, result, "AMPA_bound", label="bound")
    assert ax.get_ylabel() == "AMPA_open, AMPA_bound"
    cs.plot.timecourse(ax, result, "AMPA_open")                       # named once
    assert ax.get_ylabel() == "AMPA_open, AMPA_bound"
    cs.plot.timecourse(ax, result, "AMPA_bound", ylabel="receptors")   # the caller's label wins
    assert ax.get_ylabel() == "receptors"


def test_time_unit_follows_span(result, ens, fig):
    """Time axes are in µs when the data span less than 0.5 ms, in ms otherwise (before: always
    ms), the same rule for every time axis; a second series keeps the unit of the first."""
    ax = fig.add_subplot()
    t = np.linspace(1e-6, 20e-6, 10)                                 # 20 µs
    exact_times = np.linspace(0, 20e-6, 50)
    cs.plot.concentration(ax, t, 1e-3 * np.ones(10), exact=1e-3 * np.ones(50), exact_times=exact_times)
    assert ax.get_xlabel() == "time (µs)"
    assert np.allclose(ax.lines[0].get_xdata(), t * 1e6) and np.isclose(ax.lines[-1].get_xdata()[-1], 20)
    ax.clear()
    grid = np.arange(1, 501) * 2e-6                                   # 2 µs to 1 ms
    cs.plot.concentration(ax, grid, 1e-3 * np.ones(500))
    assert ax.get_xlabel() == "time (ms)" and np.isclose(ax.lines[0].get_xdata()[-1], 1.0)
    cs.plot.timecourse(ax, result, "AMPA_open")                       # 50 µs of data on the ms axis
    assert ax.get_xlabel() == "time (ms)" and np.allclose(ax.lines[-1].get_xdata(), result.times * 1e3)
    for draw, data in ((cs.plot.timecourse, result), (cs.plot.current, ens), (cs.plot.occupancy, ens)):
        ax.clear()
        draw(ax, data, "AMPA_open", **({"total": N_AMPA} if draw is cs.plot.occupancy else {}))
        assert ax.get_xlabel() == "time (µs)" and np.allclose(ax.lines[0].get_xdata(), result.times * 1e6)


def test_dense_series_are_lines(ens, fig):
    """Hundreds of noisy points: a line in a band (before: markers with error bars); a sparse
    series keeps markers."""
    rng = np.random.default_rng(0)
    t = np.linspace(0, 5e-3, 400)
    c = 1e-3 * np.exp(-t / 1e-3) * (1 + 0.1 * rng.standard_normal(400))
    ax = fig.add_subplot()
    cs.plot.concentration(ax, t, c, errors=2e-4 * np.ones(400), log=True)
    assert len(ax.lines) == 1
    line = ax.lines[0]
    assert line.get_linestyle() == "-" and line.get_marker() in ("None", None, "")
    assert len(ax.collections) == 1 and not ax.containers              # the band, no error bars
    assert ax.collections[0].get_paths()[0].vertices[:, 1].min() >= 0
    ax.clear()
    cs.plot.concentration(ax, t[::50], c[::50], errors=2e-4 * np.ones(8))
    assert isinstance(ax.containers[0], ErrorbarContainer) and ax.lines[0].get_marker() == "o"
    ax.clear()
    cs.plot.timecourse(ax, ens, "AMPA_open")                           # 11 samples: markers on the line
    assert ax.lines[0].get_marker() == "o" and ax.lines[0].get_linestyle() == "-"


def test_concentration(fig, tmp_path):
    t = np.linspace(0.0, 2e-3, 11)                                   # s
    exact = 1e-3 * np.exp(-t / 1e-3)                                 # M
    ax = fig.add_subplot()
    out = cs.plot.concentration(ax, t, exact * 1.01, exact=exact, errors=0.02 * exact, log=True)
    assert out is ax
    assert_drawn(fig, ax, tmp_path, units=("ms", "mM"))
    assert ax.get_yscale() == "log"
    black = [line for line in ax.lines if line.get_color() == "k"]
    assert len(black) == 1
    assert np.allclose(black[0].get_xdata(), t * 1e3) and np.allclose(black[0].get_ydata(), exact * 1e3)
    assert set(legend_texts(ax)) == {"simulated", "exact"}


def test_save(fig, tmp_path):
    fig.add_subplot().plot([0, 1], [1, 0])
    paths = cs.plot.save(fig, tmp_path / "a" / "b" / "figure")
    assert [p.name for p in paths] == ["figure.png", "figure.pdf", "figure.svg"]
    assert all(p.stat().st_size > 0 for p in paths)


def test_style_is_scoped(model, ens, fig):
    before = matplotlib.rcParams.copy()
    with cs.plot.style():
        assert matplotlib.rcParams["pdf.fonttype"] == 42 and matplotlib.rcParams["svg.fonttype"] == "none"
        assert matplotlib.rcParams["savefig.bbox"] == "tight" and not matplotlib.rcParams["axes.spines.top"]
    assert matplotlib.rcParams == before
    cs.plot.geometry(fig.add_subplot(1, 2, 1, projection="3d"), model)
    cs.plot.current(fig.add_subplot(1, 2, 2), ens, name="AMPA_open")
    assert matplotlib.rcParams == before                             # the figure functions leave it alone


def test_import_needs_no_pyplot():
    code = "import sys, cleftsim.plot; assert 'matplotlib.pyplot' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
