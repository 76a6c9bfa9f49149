"""The MCell MDL reader (cleftsim.mcell.parser): syntax -> resolved IR.

Small models of our own are in tests/mdl/; MCell's test models are read from ../shared/mcell/
(relative to the project root) when present.
"""
import collections
import os
import time
from pathlib import Path

import numpy as np
import pytest

from cleftsim.errors import MDLError
from cleftsim.mcell.document import ReleasePattern, Term
from cleftsim.mcell.parser import read

HERE = Path(__file__).parent
MDL = HERE / "mdl"
MCELL = HERE.parent.parent / "shared" / "mcell"


@pytest.fixture(scope="module")
def expressions():
    return read(MDL / "expressions.mdl", seed=7)


@pytest.fixture(scope="module")
def chemistry():
    return read(MDL / "chemistry.mdl")


@pytest.fixture(scope="module")
def geometry():
    return read(MDL / "geometry.mdl", seed=7)


def write(tmp_path, text, name="model.mdl"):
    path = tmp_path / name
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------- expressions
def test_variables_and_arithmetic(expressions):
    v = expressions.variables
    assert (v["a"], v["b"], v["c"]) == (2, 7, 3)
    assert v["d"] == 4            # -2^2: unary minus binds tighter than ^ (MCell)
    assert v["e"] == 64           # ^ is left associative
    assert v["f"] == 17 and v["g"] == 4 and v["h"] == pytest.approx(0.25) and v["k"] == 2
    assert v["v"] == (1.0, 2.0, 6.0) and v["w"] == v["v"]


def test_strings_sprintf_and_seed(expressions):
    v = expressions.variables
    assert v["tag"] == "00007"                      # sprintf(tag, "%05g", SEED) with seed=7
    assert v["s2"] == "run_00007_2"                 # & joins; a number is written %.15g
    assert v["fmt"] == "run-42-3.14-1.2e+03"
    assert read(MDL / "expressions.mdl").variables["tag"] == "00001"


def test_includes_relative_to_including_file(expressions):
    assert [Path(f).name for f in expressions.files] == ["expressions.mdl", "included.mdl", "deeper.mdl"]
    v = expressions.variables
    assert v["from_include"] == 70 and v["deep"] == "found" and v["after"] == 71


def test_settings_and_ignored_print(expressions):
    assert expressions.iterations == 100 and expressions.time_step == 1e-6
    assert expressions.surface_grid_density == 2500          # EFFECTOR_GRID_DENSITY, the old name
    assert [name for name, _ in expressions.ignored] == ["printf"]


def test_comments(tmp_path):
    doc = read(write(tmp_path, 'x = 1 // y = 2\n/* z = 3\n // */ w = "a//b/*c*/" /* */ u = 4\n'))
    assert doc.variables == {"x": 1, "w": "a//b/*c*/", "u": 4}


# ------------------------------------------------------------------------------- chemistry
def test_molecules(chemistry):
    mols = {m.name: m for m in chemistry.molecules}
    assert list(mols) == ["A", "B", "R", "RA", "C"]
    assert (mols["A"].D, mols["A"].surface) == (1e-6, False)
    assert (mols["R"].D, mols["R"].surface) == (0, True) and mols["RA"].surface
    assert mols["B"].where.line == 6 and mols["C"].where.line == 13


def test_reactions_marks_reversible_and_names(chemistry):
    r = chemistry.reactions
    assert len(r) == 8
    assert r[0].reactants == [Term("R", 1), Term("A", 1)] and r[0].products == [Term("RA", 1)]
    assert (r[0].k, r[0].name) == (1e8, "bind")
    # RA' <-> R' + A, [>1e3, <2e8] : unbind  -> forward (named), then reverse (unnamed)
    assert (r[1].reactants, r[1].products, r[1].k, r[1].name) == ([Term("RA", 1)], [Term("R", 1), Term("A", -1)],
                                                                  1e3, "unbind")
    assert (r[2].reactants, r[2].products, r[2].k, r[2].name) == ([Term("R", 1), Term("A", -1)], [Term("RA", 1)],
                                                                  2e8, None)
    assert r[3].reactants == [Term("A"), Term("B")] and r[3].products == [Term("C")]
    assert r[4].products == [] and r[4].k == 100                     # NULL
    assert r[5].reactants == [Term("A", 1), Term("R", -1)] and r[5].products == [Term("RA", 0)]  # {n} marks
    assert r[6].reactants == [Term("A", -1), Term("sink", 1)]         # A, @ sink'
    assert len(r[7].reactants) == 3                                    # trimolecular: the builder decides
    assert r[1].where.line == 31


def test_surface_classes(chemistry):
    sc = chemistry.surface_classes
    assert list(sc) == ["sink", "wall", "clamp", "lone"]
    assert [(x.kind, x.molecule, x.orient) for x in sc["wall"].rules] == [
        ("reflective", "ALL_MOLECULES", None), ("transparent", "B", 1), ("absorptive", "C", -1)]
    assert [(x.kind, x.molecule, x.orient) for x in sc["sink"].rules] == [("absorptive", "A", 0)]
    (clamp,) = sc["clamp"].rules
    assert (clamp.kind, clamp.molecule, clamp.orient, clamp.value) == ("clamp_concentration", "A", 1, 1e-6)
    assert sc["lone"].rules[0].molecule == "ALL_VOLUME_MOLECULES"


# ------------------------------------------------------------------------------- geometry
def obj(doc, path):
    return next(o for o in doc.objects if o.path == path)


def normals(mesh):
    v = mesh.vertices[mesh.triangles]
    return np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])


def test_polygon_list_and_regions(geometry):
    tet = obj(geometry, "W.tet")
    assert tet.vertices.shape == (4, 3) and tet.triangles.tolist() == [[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]]
    assert tet.triangles.dtype == np.int64
    # ELEMENT_CONNECTIONS are kept: the normals (right-hand rule) point out of the tetrahedron
    centre = tet.vertices.mean(axis=0)
    out = (tet.vertices[tet.triangles].mean(axis=1) - centre)
    assert np.all(np.einsum("ij,ij->i", normals(tet), out) > 0)
    regions = tet.regions
    assert list(regions) == ["ALL", "base", "sides", "two"]
    assert regions["ALL"].triangles.tolist() == [0, 1, 2, 3]
    assert regions["base"].triangles.tolist() == [0] and regions["base"].surface_class == "sink"
    assert regions["sides"].triangles.tolist() == [1, 2, 3]                 # [1 TO 3]
    assert regions["two"].triangles.tolist() == [1, 3]                      # INCLUDE_REGION - EXCLUDE_ELEMENTS
    (term, density, where), = regions["sides"].densities
    assert (term, density, where.line) == (Term("R", 1), 1000, 53)
    assert [(t, n) for t, n, _ in regions["two"].numbers] == [(Term("R", -1), 5)]


def test_box_sides_and_outward_normals(geometry):
    box = obj(geometry, "W.box")              # CORNERS [0,0,0], [1,2,3], TRANSLATE [5,0,0]
    assert box.triangles.shape == (12, 3)
    assert box.vertices.min(axis=0).tolist() == [5, 0, 0] and box.vertices.max(axis=0).tolist() == [6, 2, 3]
    n = normals(box)
    unit = n / np.linalg.norm(n, axis=1)[:, None]
    # MCell's sides: LEFT -x, RIGHT +x, FRONT -y, BACK +y, BOTTOM -z, TOP +z, two triangles each
    expected = np.repeat(np.array([[-1, 0, 0], [1, 0, 0], [0, -1, 0], [0, 1, 0], [0, 0, -1], [0, 0, 1]]), 2, axis=0)
    assert np.allclose(unit, expected)
    r = box.regions
    assert r["top"].triangles.tolist() == [10, 11]
    assert r["lr"].triangles.tolist() == [0, 1, 2, 3]
    assert r["notfront"].triangles.tolist() == [0, 1, 2, 3, 6, 7, 8, 9, 10, 11]
    # the box's triangles are those of its faces: TOP lies at z = 3
    assert np.all(box.vertices[box.triangles[r["top"].triangles]][..., 2] == 3)


def test_transforms_in_mcell_order(geometry):
    # tri (1,0,0) (0,1,0) (0,0,1); t: SCALE [2,1,1], ROTATE z 90, TRANSLATE [1,2,3] in that order,
    # then its parent group's TRANSLATE [10,0,0]
    t = obj(geometry, "W.g.t")
    assert np.allclose(t.vertices, [[11, 4, 3], [10, 2, 3], [11, 2, 4]])
    # g2 OBJECT group { TRANSLATE [0,0,100] } applies after the copied group's own transforms
    t2 = obj(geometry, "W.g2.t")
    assert np.allclose(t2.vertices, [[11, 4, 103], [10, 2, 103], [11, 2, 104]])


def test_meta_objects_paths_and_order(geometry):
    assert [o.path for o in geometry.objects] == ["W.tet", "W.box", "W.g.t", "W.g2.t"]
    assert [s.path for s in geometry.release_sites] == [
        "W.g.spot", "W.g2.spot", "W.puff", "W.shell", "W.on_tet", "W.on_obj", "W.in_expr"]


def test_modify_surface_regions_by_definition_or_instance(geometry):
    tet, box = obj(geometry, "W.tet"), obj(geometry, "W.box")
    assert tet.regions["sides"].surface_class == "pass"          # tet[sides]: the definition's name
    assert box.regions["top"].surface_class == "sink"            # W.box[top]: the instance path
    assert [(t, n) for t, n, _ in box.regions["top"].numbers] == [(Term("R", 1), 3)]


def test_release_sites(geometry):
    sites = {s.path: s for s in geometry.release_sites}
    spot = sites["W.g.spot"]
    assert spot.shape == "CUBIC" and np.allclose(spot.location, [11, 0, 0])     # parent's TRANSLATE
    assert spot.diameter == pytest.approx(0.1)                                  # SITE_RADIUS 0.05
    assert (spot.concentration, spot.probability, spot.pattern.name) == (1e-6, 0.5, "once")
    assert np.allclose(sites["W.g2.spot"].location, [11, 0, 100])
    puff = sites["W.puff"]
    assert (puff.shape, puff.number, puff.molecule, puff.pattern.name) == ("SPHERICAL", 100, Term("A"), "trains")
    assert np.allclose(puff.location, [0.5, 0, 0]) and puff.probability == 1 and puff.region is None
    assert sites["W.shell"].shape == "SPHERICAL_SHELL" and sites["W.shell"].diameter == 0
    on_tet = sites["W.on_tet"]
    assert (on_tet.shape, on_tet.region, on_tet.density, on_tet.location) == (
        "REGION", ("region", "W.tet", "sides"), 50, None)
    assert sites["W.on_obj"].region == ("region", "W.box", "ALL")        # a bare object is obj[ALL]
    assert sites["W.on_obj"].molecule == Term("R", -1)
    # W.box[ALL] - (W.tet[base] + W.tet[two]) * W.box[top]: * binds tighter than + and -
    assert sites["W.in_expr"].region == (
        "-", ("region", "W.box", "ALL"),
        ("*", ("+", ("region", "W.tet", "base"), ("region", "W.tet", "two")), ("region", "W.box", "top")))


def test_release_pattern_times_by_hand(geometry):
    pats = geometry.release_patterns
    assert set(pats) == {"trains", "once", "forever"}
    # DELAY 1 us, every 1 us while i*1 us < TRAIN_DURATION 3 us (3 us itself ends the train),
    # trains 10 us apart, 2 trains; t_end 12.5 us
    assert np.allclose(pats["trains"].times(12.5e-6), [1e-6, 2e-6, 3e-6, 11e-6, 12e-6])
    assert np.allclose(pats["trains"].times(1e-3), [1e-6, 2e-6, 3e-6, 11e-6, 12e-6, 13e-6])
    assert pats["once"].times(1e-3) == [5e-6] and pats["once"].times(5e-6) == []
    forever = pats["forever"]                  # NUMBER_OF_TRAINS = UNLIMITED, one endless train
    assert np.allclose(forever.times(9e-5), [0, 2e-5, 4e-5, 6e-5, 8e-5])
    assert ReleasePattern("default").times(1.0) == [0.0]
    # MCell's "correct end" model: 0.5 us + i * 1 us while i * 1 us < 10 us -> ten releases
    end = ReleasePattern("end", delay=0.5e-6, release_interval=1e-6, train_duration=1e-5, train_interval=1,
                         number_of_trains=10)
    assert len(end.times(20e-6)) == 10


def test_outputs_sums_and_stems(geometry):
    outs = {o.name: o for o in geometry.outputs}
    assert list(outs) == ["A.World", "A.box", "hits", "R"]
    world = outs["A.World"]
    assert world.file == "./react_data/seed_00007/A.World.dat" and world.step == 1e-5
    assert [(t.sign, t.what, t.orient, t.location) for t in world.terms] == [(1, "A", None, "WORLD")]
    box = outs["A.box"]
    assert [(t.sign, t.what, t.orient, t.location) for t in box.terms] == [
        (1, "A", None, "W.box"), (-2, "A", 1, "W.box[top]"), (1, "A", None, "W.tet")]
    assert [(t.sign, t.what, t.location) for t in outs["hits"].terms] == [(0.25, "hit", "WORLD")]
    assert [(t.what, t.orient, t.location) for t in outs["R"].terms] == [("R", 1, "W.tet[sides]")]
    assert box.where.line == box.terms[0].where.line == 155


def test_ignored_blocks_are_listed(geometry):
    assert [name for name, _ in geometry.ignored] == [
        "PARTITION_X", "VACANCY_SEARCH_DISTANCE", "MICROSCOPIC_REVERSIBILITY", "NOTIFICATIONS", "WARNINGS",
        "VIZ_OUTPUT", "OUTPUT_BUFFER_SIZE"]
    assert geometry.ignored[3][1].line == 8


def test_existing_object_regions_and_removed_elements(tmp_path):
    doc = read(write(tmp_path, """
        DEFINE_SURFACE_CLASSES { s { ABSORPTIVE = ALL_MOLECULES } }
        sq POLYGON_LIST {
          VERTEX_LIST { [0, 0, 0] [1, 0, 0] [1, 1, 0] [0, 1, 0] [2, 0, 0] }
          ELEMENT_CONNECTIONS { [0, 1, 2] [0, 2, 3] [1, 4, 2] }
          DEFINE_SURFACE_REGIONS { r { ELEMENT_LIST = [0, 2] } }
          REMOVE_ELEMENTS { ELEMENT_LIST = [1] }
        }
        b BOX { CORNERS = [0, 0, 0], [1, 1, 1]  ASPECT_RATIO = 2 }
        INSTANTIATE S OBJECT { sq OBJECT sq {}  b OBJECT b {} }
        DEFINE_SURFACE_REGIONS { S.sq[late] { ELEMENT_LIST = [1] SURFACE_CLASS = s }  b[bot] { ELEMENT_LIST = [BOTTOM] } }
        """))
    sq = obj(doc, "S.sq")
    assert sq.triangles.tolist() == [[0, 1, 2], [1, 4, 2]]               # triangle 1 removed, renumbered
    assert sq.regions["r"].triangles.tolist() == [0, 1]
    assert sq.regions["late"].triangles.tolist() == [1] and sq.regions["late"].surface_class == "s"
    assert obj(doc, "S.b").regions["bot"].triangles.tolist() == [8, 9]
    assert ("ASPECT_RATIO", doc.ignored[0][1]) == doc.ignored[0]


def test_names_of_definitions_resolve_to_their_instances(tmp_path):
    text = """
        DEFINE_MOLECULES { A { DIFFUSION_CONSTANT_3D = 1e-6 } }
        DEFINE_SURFACE_CLASSES { s { REFLECTIVE = A } }
        p POLYGON_LIST { VERTEX_LIST { [0, 0, 0] [1, 0, 0] [0, 1, 0] } ELEMENT_CONNECTIONS { [0, 1, 2] } }
        MODIFY_SURFACE_REGIONS { p[ALL] { SURFACE_CLASS = s } }
        INSTANTIATE S OBJECT { one OBJECT p {}  two OBJECT p { TRANSLATE = [0, 0, 1] } }
        REACTION_DATA_OUTPUT { STEP = 1e-6  {COUNT[A, S.two[ALL]]} => "a.dat" }
        """
    doc = read(write(tmp_path, text))
    assert [o.regions["ALL"].surface_class for o in doc.objects] == ["s", "s"]    # every instance of p
    assert doc.outputs[0].terms[0].location == "S.two[ALL]"
    with pytest.raises(MDLError, match="instantiated 2 times") as info:
        read(write(tmp_path, text.replace("S.two[ALL]", "p")))
    assert (info.value.construct, info.value.where.line) == ("COUNT", 7)


def test_file_handles_bom_and_path_types(tmp_path):
    path = tmp_path / "bom.mdl"
    path.write_text('\ufefff = fopen("x.txt", "w")\nfprintf(f, "%g", 1)\nfclose(f)\nn = 3\n', encoding="utf-8")
    for given in (path, str(path)):
        doc = read(given)
        assert doc.variables == {"n": 3} and doc.path == str(path)
    assert not (tmp_path / "x.txt").exists()                 # files are never written


def test_rotate_is_right_handed(tmp_path):
    doc = read(write(tmp_path, """
        p POLYGON_LIST { VERTEX_LIST { [1, 0, 0] [0, 1, 0] [0, 0, 1] } ELEMENT_CONNECTIONS { [0, 1, 2] }
                         ROTATE = [1, 0, 0], 90 }
        INSTANTIATE S OBJECT { q OBJECT p { ROTATE = [0, 1, 0], 90 } }
        """))
    # about x by 90: (0,1,0) -> (0,0,1), (0,0,1) -> (0,-1,0); then about y by 90: (x,y,z) -> (z,y,-x)
    assert np.allclose(obj(doc, "S.q").vertices, [[0, 0, -1], [1, 0, 0], [0, -1, 0]], atol=1e-12)


def test_numeric_bodies_fast_path_equals_grammar_path(tmp_path):
    """Plain numeric bodies are pre-scanned with numpy; bodies with expressions go through the
    grammar; both must give the same mesh."""
    plain = read(write(tmp_path, """
        p POLYGON_LIST { VERTEX_LIST { [0, 0, 0] [1, 0, 0] [0, 1, 0] [1e-1, -2.5E+0, 3.] }
                         ELEMENT_CONNECTIONS { [0, 1, 2] [1, 3, 2] }
                         DEFINE_SURFACE_REGIONS { r { ELEMENT_LIST = [1, 0, 1] } } }
        INSTANTIATE S OBJECT { p OBJECT p {} }""", "plain.mdl"))
    exprs = read(write(tmp_path, """
        one = 1
        p POLYGON_LIST { VERTEX_LIST { [0, 0, 0] [one, 0, 0] [0, one, 0] [0.1, -2.5, 1 + 2] }
                         ELEMENT_CONNECTIONS { [0, one, 2] [1, 3, 2] }
                         DEFINE_SURFACE_REGIONS { r { ELEMENT_LIST = [one, 0 TO 1] } } }
        INSTANTIATE S OBJECT { p OBJECT p {} }""", "exprs.mdl"))
    a, b = plain.objects[0], exprs.objects[0]
    assert np.array_equal(a.vertices, b.vertices) and np.array_equal(a.triangles, b.triangles)
    assert a.regions["r"].triangles.tolist() == b.regions["r"].triangles.tolist() == [0, 1]


# ------------------------------------------------------------------------------- refusals
REFUSALS = [
    # (construct, line, text)
    ("syntax", 2, "x = 1\ny = = 2\n"),
    ("syntax", 3, "DEFINE_MOLECULES {\n  A {\n    DIFFUSION_CONSTANT_3D = }\n}\n"),
    ("syntax", 1, "x = 1 # 2\n"),
    ("DEFINE_FUNCTION", 2, "x = 1\nDEFINE_FUNCTION f { x }\n"),
    ("REACTION_GROUP", 3, "DEFINE_MOLECULES { A { DIFFUSION_CONSTANT_3D = 1 } }\nDEFINE_REACTIONS {\n"
                          "  REACTION_GROUP g { A -> A [1] }\n}\n"),
    ("CUSTOM_TIME_STEP", 2, "DEFINE_MOLECULES {\n  A { DIFFUSION_CONSTANT_3D = 1e-6  CUSTOM_TIME_STEP = 1e-7 } }\n"),
    ("TARGET_ONLY", 3, "DEFINE_MOLECULES {\n  A { DIFFUSION_CONSTANT_3D = 1e-6\n  TARGET_ONLY } }\n"),
    ("INTERACTION_RADIUS", 2, "TIME_STEP = 1e-6\nINTERACTION_RADIUS = 0.01\n"),
    ("VARIABLE_RATE", 3, 'DEFINE_MOLECULES { A { DIFFUSION_CONSTANT_3D = 1e-6 } }\nDEFINE_REACTIONS {\n'
                         '  A -> NULL ["rates.txt"]\n}\n'),
    ("CLAMP_FLUX", 2, "DEFINE_SURFACE_CLASSES {\n  c { CLAMP_FLUX A' = 1e-5 } }\n"),
    ("GAUSSIAN_RELEASE_NUMBER", 4, "DEFINE_MOLECULES { A { DIFFUSION_CONSTANT_3D = 1e-6 } }\nINSTANTIATE S OBJECT {\n"
                                   "  r RELEASE_SITE { SHAPE = SPHERICAL LOCATION = [0, 0, 0] MOLECULE = A\n"
                                   "    GAUSSIAN_RELEASE_NUMBER { MEAN_NUMBER = 5 STANDARD_DEVIATION = 1 } } }\n"),
    ("MOLECULE_POSITIONS", 3, "DEFINE_MOLECULES { A { DIFFUSION_CONSTANT_3D = 1e-6 } }\nINSTANTIATE S OBJECT {\n"
                              "  r RELEASE_SITE { SHAPE = LIST MOLECULE_POSITIONS { A [0, 0, 0] } } }\n"),
    ("TIME_LIST", 2, "REACTION_DATA_OUTPUT {\n  TIME_LIST = [1e-6, 2e-6]\n}\n"),
    ("FRONT_HITS", 3, "DEFINE_MOLECULES { A { DIFFUSION_CONSTANT_3D = 1e-6 } }\nREACTION_DATA_OUTPUT { STEP = 1e-6\n"
                      "  {COUNT[A, WORLD, FRONT_HITS]} => \"a.dat\" }\n"),
    ("TRIGGER", 2, "DEFINE_MOLECULES { A { DIFFUSION_CONSTANT_3D = 1e-6 } }\nREACTION_DATA_OUTPUT { STEP = 1e-6\n"
                   "  {TRIGGER[A, WORLD]} => \"a.dat\" }\n".replace("STEP = 1e-6\n  ", "STEP = 1e-6 ")),
    ("VOLUME_DATA_OUTPUT", 2, "x = 1\nVOLUME_DATA_OUTPUT { MOLECULES = A }\n"),
    ("BNGL", 1, 'INCLUDE_FILE = "model.bngl"\n'),
    ("INCLUDE_FILE", 2, 'x = 1\nINCLUDE_FILE = "no_such_file.mdl"\n'),
    ("expression", 1, "x = y + 1\n"),
    ("expression", 1, "x = 1 / 0\n"),
    ("expression", 1, 'x = "a" * 2\n'),
    ("RAND_UNIFORM", 1, "x = RAND_UNIFORM\n"),
    ("MOLECULE_DENSITY", 3, "DEFINE_MOLECULES { S { DIFFUSION_CONSTANT_2D = 0 } }\nDEFINE_SURFACE_CLASSES { c {\n"
                            "  MOLECULE_DENSITY { S' = 10 } } }\np POLYGON_LIST { VERTEX_LIST { [0, 0, 0] [1, 0, 0] "
                            "[0, 1, 0] } ELEMENT_CONNECTIONS { [0, 1, 2] } DEFINE_SURFACE_REGIONS { r { "
                            "ELEMENT_LIST = [0] SURFACE_CLASS = c } } }\nINSTANTIATE S OBJECT { p OBJECT p {} }\n"),
    ("SHAPE", 3, "DEFINE_MOLECULES { A { DIFFUSION_CONSTANT_3D = 1e-6 } }\nINSTANTIATE S OBJECT {\n"
                 "  r RELEASE_SITE { SHAPE = S.nothing[ALL] MOLECULE = A NUMBER_TO_RELEASE = 1 } }\n"),
    ("COUNT", 3, "p POLYGON_LIST { VERTEX_LIST { [0, 0, 0] [1, 0, 0] [0, 1, 0] } ELEMENT_CONNECTIONS { [0, 1, 2] } }\n"
                 "INSTANTIATE S OBJECT { p OBJECT p {} }\nREACTION_DATA_OUTPUT { STEP = 1e-6 "
                 "{COUNT[A, S.p[nope]]} => \"b.dat\" }\n"),
    ("ELEMENT_LIST", 3, "p POLYGON_LIST { VERTEX_LIST { [0, 0, 0] [1, 0, 0] [0, 1, 0] }\n"
                        "  ELEMENT_CONNECTIONS { [0, 1, 2] }\n  DEFINE_SURFACE_REGIONS { r { ELEMENT_LIST = [0, 1] } } }\n"),
    ("ELEMENT_CONNECTIONS", 1, "p POLYGON_LIST { VERTEX_LIST { [0, 0, 0] [1, 0, 0] [0, 1, 0] } "
                               "ELEMENT_CONNECTIONS { [0, 1, 3] } }\n"),
    ("DEFINE_RELEASE_PATTERN", 2, "x = 1\nDEFINE_RELEASE_PATTERN p { TRAIN_DURATION = 2e-6 TRAIN_INTERVAL = 1e-6 }\n"),
    ("RELEASE_PATTERN", 3, "DEFINE_MOLECULES { A { DIFFUSION_CONSTANT_3D = 1e-6 } }\nINSTANTIATE S OBJECT { r RELEASE_SITE {"
                           "\n SHAPE = SPHERICAL LOCATION = [0,0,0] MOLECULE = A RELEASE_PATTERN = nope } }\n"),
    ("MODIFY_SURFACE_REGIONS", 2, "x = 1\nMODIFY_SURFACE_REGIONS { nothing[ALL] { SURFACE_CLASS = c } }\n"),
    ("REACTION_DATA_OUTPUT", 2, "DEFINE_MOLECULES { A { DIFFUSION_CONSTANT_3D = 1e-6 } }\nREACTION_DATA_OUTPUT { "
                                "STEP = 1e-6 {COUNT[A, WORLD], COUNT[A, WORLD]} => \"two.dat\" }\n"),
]


@pytest.mark.parametrize("construct, line, text", REFUSALS, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(REFUSALS)])
def test_refusals_name_file_line_and_construct(tmp_path, construct, line, text):
    path = write(tmp_path, text)
    with pytest.raises(MDLError) as info:
        read(path)
    err = info.value
    assert err.construct == construct, str(err)
    assert err.where is not None and err.where.line == line and Path(err.where.file).name == "model.mdl", str(err)
    assert str(err).startswith(f"{path}:{line}: {construct}: ")
    assert err.message and err.message in str(err)


def test_syntax_error_message(tmp_path):
    with pytest.raises(MDLError) as info:
        read(write(tmp_path, "ITERATIONS = 10\nTIME_STEP = = 1e-6\n"))
    assert str(info.value).startswith(f"{tmp_path / 'model.mdl'}:2: syntax: unexpected '='; expected ")


def test_missing_main_file_is_an_mdl_error(tmp_path):
    with pytest.raises(MDLError, match="cannot read the main MDL file"):
        read(tmp_path / "absent.mdl")


def test_refusal_inside_an_included_file_names_that_file(tmp_path):
    write(tmp_path, "a = 1\n\nSPACE_STEP = 0.1\n", "inner.mdl")
    with pytest.raises(MDLError) as info:
        read(write(tmp_path, 'INCLUDE_FILE = "inner.mdl"\n'))
    assert info.value.construct == "SPACE_STEP"
    assert (Path(info.value.where.file).name, info.value.where.line) == ("inner.mdl", 3)


# ------------------------------------------------------------------------------- MCell's models
needs_mcell = pytest.mark.skipif(not MCELL.is_dir(), reason=f"MCell's test models are not at {MCELL}")


@needs_mcell
def test_rat_nmj():
    read(MCELL / "rat_nmj" / "Scene.main.mdl")            # warm up (builds the parser once)
    t0 = time.perf_counter()
    doc = read(MCELL / "rat_nmj" / "Scene.main.mdl")
    elapsed = time.perf_counter() - t0
    print(f"rat NMJ read in {elapsed:.3f} s")
    assert elapsed < 1.0
    assert [o.path for o in doc.objects] == ["Scene.cleft_edges", "Scene.lamina_layer", "Scene.nerve_layer",
                                             "Scene.pjm"]
    assert sum(len(o.triangles) for o in doc.objects) == 54949
    assert sum(len(o.vertices) for o in doc.objects) + 54949 == 84118      # the geometry file's rows
    assert list(obj(doc, "Scene.pjm").regions) == ["ALL", "bpjm", "mpjm", "tpjm"]
    assert obj(doc, "Scene.lamina_layer").regions["lamina_layer"].surface_class == "transp"
    assert obj(doc, "Scene.cleft_edges").regions["cleft_edges"].surface_class == "absorb"
    assert len(doc.molecules) == 14 and len(doc.reactions) == 21
    acH = [s for s in doc.release_sites if s.path.startswith("ACh_rel.")]
    scene = [s for s in doc.release_sites if s.path.startswith("Scene.")]
    assert len(acH) == 303 and len(scene) == 4
    assert scene[2].region == ("region", "Scene.pjm", "mpjm") and scene[2].density == 2970
    first = acH[0]
    assert first.pattern.name == "release_pattern_1" and first.pattern.times(5e-4) == [5e-7]
    assert sum(s.number for s in acH) == 6200
    assert all(len(s.pattern.times(5e-4)) == 1 for s in acH) and max(s.pattern.delay for s in acH) == 192e-6
    assert len(doc.outputs) == 14 and all(o.step == 1e-6 for o in doc.outputs)
    assert doc.outputs[0].name == "ACh.World" and doc.outputs[0].file == "./react_data/seed_00001/ACh.World.dat"
    assert all(o.name.endswith(".World") for o in doc.outputs)
    assert doc.iterations == 500 and doc.time_step == 1e-6 and doc.surface_grid_density == 10000


def main_file(folder: Path) -> Path | None:
    """The main MDL file of a model folder: test.mdl, Scene.main.mdl, or the one .mdl no other includes."""
    for name in ("test.mdl", "Scene.main.mdl"):
        if (folder / name).is_file():
            return folder / name
    mdls = sorted(folder.glob("*.mdl"))
    if len(mdls) == 1:
        return mdls[0]
    included = set()
    for m in mdls:
        included.update(part.split('"')[1] for part in m.read_text(errors="replace").split("INCLUDE_FILE")[1:]
                        if '"' in part)
    roots = [m for m in mdls if m.name not in included]
    return roots[0] if len(roots) == 1 else None


@needs_mcell
def test_mcell_corpus_reads_or_refuses():
    counts = collections.Counter()
    refused = collections.defaultdict(list)
    folders = sorted(p for p in (MCELL / "models").iterdir() if p.is_dir())
    assert len(folders) > 150
    for folder in folders:
        main = main_file(folder)
        assert main is not None, f"no main MDL file in {folder}"
        try:
            read(main)
        except MDLError as exc:
            counts[exc.construct] += 1
            refused[exc.construct].append(folder.name)
            assert exc.where is not None and os.path.exists(exc.where.file), str(exc)
            assert exc.construct not in ("internal", "syntax"), str(exc)
        else:
            counts["(read)"] += 1
    print()
    print(f"{'outcome':<24}{'models':>7}")
    for construct, n in counts.most_common():
        print(f"{construct:<24}{n:>7}  {' '.join(refused[construct][:3])}")
    assert counts["(read)"] >= 0.8 * len(folders)
