"""Importing MCell models (cleftsim.mcell.load): the mapping of each construct onto the Model,
refusals with MDLError, and MCell's reaction-data files.

The MDL files here are the project's own (tests/mdl_import/); MCell's test models are read from
../shared/mcell/ by tests/test_mcell_corpus.py.
"""
from pathlib import Path

import numpy as np
import pytest

import cleftsim as cs
from cleftsim.errors import MDLError

HERE = Path(__file__).parent / "mdl_import"


def receptors(**kwargs):
    return cs.mcell.load(HERE / "receptors.mdl", **kwargs)


def test_species_geometry_releases_and_outputs_map_onto_the_model():
    m = receptors(seed=3)
    assert m.dt == pytest.approx(1e-6) and m.t_end == pytest.approx(100e-6) and m.every == pytest.approx(2e-6)
    assert m.seed == 3
    (lig,) = m.species
    assert lig.name == "L" and lig.D == pytest.approx(200.0)                 # 2e-6 cm^2/s
    assert [s.name for s in m.surface_species] == ["R", "RL"]
    (obj,) = m.objects
    assert obj.name == "cell"
    floor = [r for r in obj.regions if r.name == "floor"]
    assert len(floor) == 1 and floor[0].area == pytest.approx(1.0)
    (pl,) = m.placements
    assert pl.species.name == "R" and pl.n == 1000 and pl.region.name == "floor" and pl.orient < 0
    assert [r.t for r in m.releases] == pytest.approx([2.5e-6, 12.5e-6, 22.5e-6])
    assert all(r.n == 100 and r.kind == "point" and np.allclose(r.params[0], (0, 0, -0.45)) for r in m.releases)
    bind, unbind = m.reactions
    assert bind.kind == "binding" and bind.k == 1e8 and bind.side == 1
    assert unbind.kind == "surface" and unbind.product_sides == (1,)
    assert [o.name for o in m.observables] == ["L.World", "RL.floor", "bind", "total[1]", "total[2]", "total"]


def test_a_run_follows_the_file_and_conserves_the_ligand():
    res = receptors(seed=1).run(progress=False)
    assert len(res.times) == 51 and res.times[-1] == pytest.approx(100e-6)
    assert np.array_equal(res["total"], res["total[1]"] + res["total[2]"])
    released = 100 * np.searchsorted([2.5e-6, 12.5e-6, 22.5e-6], res.times + 1e-12)
    assert np.array_equal(res["total"], released)                           # ligand is free or bound
    assert res["RL.floor"][-1] > 0 and res["bind"][-1] >= res["RL.floor"][-1]


def test_dt_override_keeps_the_duration_and_the_output_step():
    m = receptors(dt="0.5 us")
    assert m.dt == pytest.approx(0.5e-6) and m.t_end == pytest.approx(100e-6) and m.every == pytest.approx(2e-6)
    assert [r.t for r in m.releases] == pytest.approx([2.5e-6, 12.5e-6, 22.5e-6])


def test_reaction_data_files_read_back(tmp_path):
    res = receptors(seed=2).run(progress=False)
    paths = cs.mcell.write_reaction_data(res, tmp_path / "react_data" / "seed_00002")
    assert sorted(p.name for p in paths) == sorted(f"{n}.dat" for n in res.names)
    back = np.loadtxt(tmp_path / "react_data" / "seed_00002" / "L.World.dat")
    assert np.allclose(back[:, 0], res.times) and np.array_equal(back[:, 1], res["L.World"])


def mdl(tmp_path, body, name="model.mdl"):
    path = tmp_path / name
    path.write_text("ITERATIONS = 10\nTIME_STEP = 1e-6\n"
                    "DEFINE_MOLECULES { A { DIFFUSION_CONSTANT_3D = 1e-6 } B { DIFFUSION_CONSTANT_3D = 1e-6 }\n"
                    "  C { DIFFUSION_CONSTANT_3D = 1e-6 } S { DIFFUSION_CONSTANT_2D = 0 } T { DIFFUSION_CONSTANT_2D = 0 } }\n"
                    + body)
    return path


@pytest.mark.parametrize("body, construct, words", [
    ("DEFINE_REACTIONS { A + B + C -> A [1e8] }", "reaction A + B + C -> A", "three molecules"),
    ("DEFINE_REACTIONS { S' + T' -> S' [1e8] }", "reaction S + T -> S", "two surface molecules"),
    ("DEFINE_REACTIONS { A + D -> A [1e8] }", "reaction A + D -> A", "not a molecule"),
    ("DEFINE_REACTIONS { S' + A' -> T, [1e8] }", "reaction S + A -> T", "turns over"),
    ("INSTANTIATE W OBJECT { r RELEASE_SITE { SHAPE = SPHERICAL LOCATION = [0,0,0] MOLECULE = A\n"
     "  NUMBER_TO_RELEASE = -5 } }", "release site W.r", "negative release"),
    ("INSTANTIATE W OBJECT { r RELEASE_SITE { SHAPE = SPHERICAL LOCATION = [0,0,0] MOLECULE = S'\n"
     "  NUMBER_TO_RELEASE = 5 } }", "release site W.r", "not a volume molecule"),
    ("REACTION_DATA_OUTPUT { STEP = 1e-6 {COUNT[A, W.nothing]} => \"a.dat\" }", "COUNT", "no instantiated object"),
    ("REACTION_DATA_OUTPUT { STEP = 1.5e-6 {COUNT[A, WORLD]} => \"a.dat\" }", "", "whole number"),
])
def test_unsupported_constructs_are_refused_with_file_line_and_construct(tmp_path, body, construct, words):
    path = mdl(tmp_path, body)
    with pytest.raises(MDLError) as err:
        cs.mcell.load(path)
    text = str(err.value)
    print(text)
    assert str(path) in text and construct in text and words in text
    assert f"{path}:" in text and text.split(f"{path}:")[1].split(":")[0].isdigit()


def test_orientation_marks_choose_the_binding_side_and_the_product_sides(tmp_path):
    path = mdl(tmp_path, "DEFINE_REACTIONS {\n S' + A' -> T' [1e8]\n S' + B, -> T' [1e8]\n S' + C; -> T' [1e8]\n"
                         " T' -> S' + A' + B, + C; [10] }")
    m = cs.mcell.load(path)
    assert [r.side for r in m.reactions[:3]] == [1, -1, 0]
    assert m.reactions[3].product_sides == (1, -1, 0)
