"""Figures (cleftsim.plot) on the Agg backend: each function returns its Axes, labels the units,
draws something, and the figure saves to a non-blank image; the plotted numbers are the data
converted to the units on the axes (ms, nm, pA, mM, fractions)."""
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import cleftsim as cs  # noqa: E402

FACES = {"box.left", "box.right", "box.front", "box.back", "box.bottom", "box.top"}
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
    assert texts == ["box.bottom", f"glu (50 of {sim.count('glu')} shown)"]
    assert tuple(ax.get_legend().get_patches()[0].get_facecolor()[:3]) == (1.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="box.lid"):
        cs.plot.geometry(ax, model, regions=["box.lid"])


def test_section(model, sim, fig, tmp_path):
    ax = fig.add_subplot()
    assert cs.plot.section(ax, model, sim, plane="xz", at="0 nm", thickness="500 nm") is ax
    assert_drawn(fig, ax, tmp_path, units=("nm", "nm"))
    texts = legend_texts(ax)
    assert set(texts[:4]) == {"box.left", "box.right", "box.bottom", "box.top"}   # the faces y = 0 crosses
    assert f"glu (n = {sim.count('glu')})" in texts                  # a slab thicker than the box holds all
    segments = np.concatenate(ax.collections[0].get_segments())
    on_wall = np.isclose(np.abs(segments[:, 0]), 200) | np.isclose(np.abs(segments[:, 1]), 25)
    assert len(segments) and on_wall.all()
    assert ax.get_aspect() == 1.0


def test_section_planes(model, fig):
    ax = fig.add_subplot()
    cs.plot.section(ax, model, plane="xy", at=0.0)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x (nm)", "y (nm)")
    assert set(legend_texts(ax)) == FACES - {"box.bottom", "box.top"}
    with pytest.raises(ValueError, match="plane"):
        cs.plot.section(ax, model, plane="xx")


def test_timecourse_result(result, fig, tmp_path):
    ax = fig.add_subplot()
    assert cs.plot.timecourse(ax, result, "AMPA_bound", scale=2.0, label="bound") is ax
    assert_drawn(fig, ax, tmp_path, units=("ms",))
    line = ax.lines[0]
    assert np.allclose(line.get_xdata(), result.times * 1e3)
    assert np.allclose(line.get_ydata(), 2.0 * result["AMPA_bound"])
    assert ax.get_ylabel() == "AMPA_bound" and legend_texts(ax) == ["bound"]


def test_timecourse_ensemble(ens, fig, tmp_path):
    ax = fig.add_subplot()
    assert cs.plot.timecourse(ax, ens, "AMPA_bound", band="sem", trials=2, ylabel="bound receptors") is ax
    assert_drawn(fig, ax, tmp_path, units=("ms",))
    mean, sem = ens.mean("AMPA_bound"), ens.sem("AMPA_bound")
    assert np.allclose(ax.lines[0].get_ydata(), mean)
    assert len(ax.lines) == 3 and len(ax.collections) == 1          # mean, two trials; the band
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert np.isclose(band.max(), (mean + sem).max()) and np.isclose(band.min(), (mean - sem).min())
    assert legend_texts(ax) == ["mean ± SEM (n = 3)"]
    ax.clear()
    cs.plot.timecourse(ax, ens, "AMPA_bound", band="ci", level=0.9, label="bound")
    assert legend_texts(ax) == ["bound: mean ± 90% CI (n = 3)"]
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
    assert_drawn(fig, ax, tmp_path, units=("ms", "pA"))
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
    assert_drawn(fig, ax, tmp_path, units=("ms",))
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
