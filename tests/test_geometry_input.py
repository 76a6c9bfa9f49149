"""Bad geometry input: load(), save(), the primitives, the Box and Cylinder shapes and Mesh.scaled
refuse it with messages that name the argument, the value (or the file and line) and the fix, and
the primitives refuse meshes too large to simulate at once."""
import os
import re
import time
import tracemalloc
import warnings

import numpy as np
import pytest

from cleftsim import units
from cleftsim.errors import MeshError, UnitError
from cleftsim.geometry import Box, Cylinder, box, cylinder, icosphere, load, primitives, save

TET_OBJ = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n"


# -- NaN / inf vertices -----------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_obj_non_finite_vertex_names_file_line_and_vertex(tmp_path, bad):
    path = tmp_path / "tet.obj"
    path.write_text(TET_OBJ.replace("v 0 1 0", f"v 0 {bad} 0"))
    with pytest.raises(MeshError, match=rf"tet\.obj', line 3 \('v 0 {bad} 0'\): vertex 3 is not a finite point"):
        load(path)


def test_stl_non_finite_vertex_names_file_vertex_and_triangle(tmp_path):
    path = tmp_path / "box.stl"
    save(box(1.0), path)
    data = bytearray(path.read_bytes())
    data[84 + 50 + 12:84 + 50 + 16] = np.float32(np.nan).tobytes()  # x of triangle 1's first corner
    path.write_bytes(bytes(data))
    with pytest.raises(MeshError, match=r"box\.stl': vertex 3 is \(nan, .*corner of triangle 1"):
        load(path)


# -- which file -------------------------------------------------------------------------------
def test_folder_is_refused_as_a_folder(tmp_path):
    save(box(1.0), tmp_path / "cell.obj")
    for given in (tmp_path, f"{tmp_path}{os.sep}"):
        with pytest.raises(IsADirectoryError, match=r"is a folder, not a mesh file.*cell\.obj"):
            load(given)


def test_missing_file_names_the_path_and_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=re.escape(f"'cells/spine.obj' (looked for in the current "
                                                          f"folder {str(tmp_path)!r})")):
        load("cells/spine.obj")
    with pytest.raises(FileNotFoundError) as info:
        load(tmp_path / "none.obj")
    assert str(tmp_path / "none.obj") in str(info.value) and "current folder" not in str(info.value)


@pytest.mark.parametrize("ext", ["obj", "stl", "ply", "glb"])
def test_empty_file_is_named(tmp_path, ext):
    (tmp_path / f"empty.{ext}").write_bytes(b"")
    with pytest.raises(MeshError, match=rf"empty\.{ext}' is empty \(0 bytes\)"):
        load(tmp_path / f"empty.{ext}")


# -- which format -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["tet.xyz", "tet.txt", "tet"])
def test_obj_text_under_another_name_needs_format(tmp_path, name):
    path = tmp_path / name
    path.write_text(TET_OBJ)
    with pytest.raises(MeshError, match=r"cannot tell the format .* load reads obj, stl, ply, off, glb, gltf; "
                                        r"its content looks like OBJ: pass format='obj'"):
        load(path)
    mesh = load(path, format="obj")
    assert mesh.n_triangles == 4 and mesh.is_closed


def test_unknown_extension_and_content_lists_the_formats(tmp_path):
    path = tmp_path / "cloud.xyz"
    path.write_text("0.1 0.2 0.3\n0.4 0.5 0.6\n")
    with pytest.raises(MeshError, match=r"extension '\.xyz'; load reads obj, stl, ply, off, glb, gltf: pass one "
                                        r"as format=, or rename the file"):
        load(path)


def test_content_of_another_format_is_named(tmp_path):
    (tmp_path / "tet.stl").write_text(TET_OBJ)
    with pytest.raises(MeshError, match=r"tet\.stl' .*neither a binary STL .*looks like OBJ: pass format='obj'"):
        load(tmp_path / "tet.stl")
    save(box(1.0), tmp_path / "box.stl")
    os.rename(tmp_path / "box.stl", tmp_path / "box.obj")
    with pytest.raises(MeshError, match=r"box\.obj' is not an OBJ text file: it has binary data .*looks like STL: "
                                        r"pass format='stl'"):
        load(tmp_path / "box.obj")
    assert load(tmp_path / "box.obj", format="STL").n_triangles == 12


@pytest.mark.parametrize("fmt, error, match", [
    ("xyz", ValueError, r"format='xyz' is not one load reads; use one of obj, stl"),
    (3, TypeError, "format must be a string such as 'obj', got 3"),
])
def test_format_argument_is_checked(tmp_path, fmt, error, match):
    save(box(1.0), tmp_path / "box.obj")
    with pytest.raises(error, match=match):
        load(tmp_path / "box.obj", format=fmt)


@pytest.mark.parametrize("ext, match", [
    ("stl", r"has no triangles that can be read: it is neither a binary STL .* nor an ASCII STL"),
    ("ply", r"is not a PLY file: it does not start with the line 'ply'"),
    ("obj", r"is not an OBJ text file: it has binary data \(byte 0x[0-9a-f]{2} at offset \d+\)"),
])
def test_binary_garbage_with_a_known_extension_names_the_file(tmp_path, ext, match):
    path = tmp_path / f"garbage.{ext}"
    path.write_bytes(np.random.default_rng(1).bytes(1000))
    with pytest.raises(MeshError, match=rf"garbage\.{ext}' {match}"):
        load(path)


# -- too large to simulate --------------------------------------------------------------------
def test_huge_icosphere_is_refused_at_once():
    start = time.perf_counter()
    with pytest.raises(MeshError, match=r"icosphere\(subdivisions=12\) would have 335,544,320 triangles, needing "
                                        r"about 671 GB of memory .*fewer subdivisions"):
        icosphere(1, subdivisions=12)
    assert time.perf_counter() - start < 1


@pytest.mark.parametrize("build, match", [
    (lambda: box(1, divisions=10**5), r"box\(divisions=100000\) would have 120,000,000,000 triangles"),
    (lambda: cylinder(1, 1, segments=10**6), r"cylinder\(segments=1000000, rings=62500\) would have "
                                             r"125,002,000,000 triangles"),
    (lambda: cylinder(1, 1, segments=10**9), r"1\.25e\+17 triangles"),
    (lambda: icosphere(1, 1000), r"2\.30e\+603 triangles"),
])
def test_huge_box_and_cylinder_are_refused(build, match):
    with pytest.raises(MeshError, match=match):
        build()


@pytest.mark.parametrize("build", [
    lambda: icosphere(1, 3),
    lambda: box(1, divisions=3),
    lambda: cylinder(1, 1, segments=3),
    lambda: cylinder(1, 1, segments=64),
    lambda: cylinder(1, 0.1, segments=100, rings=7),
    lambda: cylinder(1, 0.1, segments=256, rings=40),
])
def test_predicted_triangle_count_matches_the_mesh(monkeypatch, build):
    predicted = []
    real = primitives.check_size
    monkeypatch.setattr(primitives, "check_size", lambda n, what, fix: predicted.append(n) or real(n, what, fix))
    mesh = build()
    assert predicted == [pytest.approx(mesh.n_triangles, rel=0.02)]


def test_limit_is_the_machines_memory(monkeypatch):
    monkeypatch.setattr(primitives, "physical_memory", lambda: 2 * 10**7)
    assert icosphere(1, 4).n_triangles == 5120  # 10 MB
    with pytest.raises(MeshError, match=r"20,480 triangles, needing about 41\.0 MB .*more than this machine's 20 MB "
                                        r"\(room for about 10,000 triangles\)"):
        icosphere(1, 5)


def test_file_header_promising_too_many_triangles_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "huge.ply"
    header = (b"ply\nformat binary_little_endian 1.0\nelement vertex 500000000\nproperty float x\n"
              b"property float y\nproperty float z\nelement face 1000000000\n"
              b"property list uchar int vertex_indices\nend_header\n")
    path.write_bytes(header + bytes(100))
    with pytest.raises(MeshError, match=r"huge\.ply' would have 1,000,000,000 triangles, needing about 2 TB .*"
                                        r"simplify the mesh"):
        load(path)
    save(icosphere(1, 4), tmp_path / "ball.stl")  # binary STL: the count is in its header
    monkeypatch.setattr(primitives, "physical_memory", lambda: 10**7)
    with pytest.raises(MeshError, match=r"ball\.stl' would have 5,120 triangles"):
        load(tmp_path / "ball.stl")


# -- wrong types and values -------------------------------------------------------------------
@pytest.mark.parametrize("build, error, match", [
    (lambda: icosphere(1, subdivisions=True), TypeError, "subdivisions must be an integer such as 1, got True"),
    (lambda: icosphere(1, subdivisions=2.5), TypeError, "subdivisions must be an integer such as 1, got 2.5"),
    (lambda: icosphere(1, subdivisions="3"), TypeError, "subdivisions must be an integer such as 1, got '3'"),
    (lambda: box(1, divisions=True), TypeError, "divisions must be an integer such as 2, got True"),
    (lambda: cylinder(1, 1, segments=True), TypeError, "segments must be an integer such as 4, got True"),
    (lambda: cylinder(1, 1, rings=True), TypeError, "rings must be an integer such as 2, got True"),
    (lambda: icosphere(True), TypeError, "radius must be a length in µm or a string such as '200 nm', got True"),
    (lambda: cylinder(1, False), TypeError, "height must be a length"),
    (lambda: icosphere(0), ValueError, "radius must be a positive length, got 0; give e.g. radius='200 nm'"),
    (lambda: box(-1), ValueError, r"^size must be a positive length, got -1; give e\.g\. size="),
    (lambda: box((1, 0, 1)), ValueError, r"^size\[1\] must be a positive length, got 0;"),
    (lambda: box("1 s"), UnitError, r"^size: '1 s' is not a length"),
    (lambda: box([1, [2]]), UnitError, r"size: expected one length or three coordinates \(x, y, z\), got \[1, \[2\]\]"),
])
def test_primitive_arguments_of_wrong_type_or_value(build, error, match):
    with pytest.raises(error, match=match):
        build()


@pytest.mark.parametrize("build", [
    lambda: icosphere(1, 3, center=(0, 0)),
    lambda: box(1, center=(0, 0)),
    lambda: cylinder(1, 1, center="0 um"),
])
def test_center_is_checked_before_building(monkeypatch, build):
    def built(*args):
        raise AssertionError("the mesh was built before center was checked")

    monkeypatch.setattr(primitives, "_finish", built)
    with pytest.raises(UnitError, match="center"):
        build()


@pytest.mark.parametrize("groups, match", [
    ({1: "a", "cube": "b"}, r"the entry 1: 'a' does not"),
    ({"cube": 2}, r"the entry 'cube': 2 does not"),
    (["cube"], r"groups must be a dict mapping names in the file to region names, got \['cube'\]"),
])
def test_groups_of_wrong_types(tmp_path, groups, match):
    save(box(1.0), tmp_path / "box.obj")
    with pytest.raises(MeshError, match=match):
        load(tmp_path / "box.obj", groups=groups)


@pytest.mark.parametrize("unit, match", [
    (None, "unit: None is not a number"),
    ("s", "unit: 's' is not a length"),
])
def test_unit_that_is_not_a_length(tmp_path, unit, match):
    save(box(1.0), tmp_path / "box.obj")
    with pytest.raises(UnitError, match=match):
        load(tmp_path / "box.obj", unit=unit)


def test_every_unit_goes_through_the_length_check(tmp_path, monkeypatch):
    save(box(1.0), tmp_path / "box.obj")
    seen = []
    real = units.length
    monkeypatch.setattr(units, "length", lambda value, name="length": seen.append((value, name)) or real(value, name))
    for unit in ("nm", 1e-3):
        assert load(tmp_path / "box.obj", unit=unit).bounds[1] == pytest.approx([5e-4] * 3)
    assert seen == [("nm", "unit"), (1e-3, "unit")]


# -- Box and Cylinder shapes ------------------------------------------------------------------
def test_shapes_take_unit_strings_and_store_floats_in_um():
    cyl = Cylinder(("0 nm", 0, "10 nm"), "50 nm", "20 nm")
    assert (cyl.center, cyl.radius, cyl.height) == ((0.0, 0.0, 0.01), 0.05, 0.02)
    assert cyl.volume == pytest.approx(np.pi * 0.05**2 * 0.02)
    assert cyl.contains([[0.04, 0, 0.01], [0.06, 0, 0.01]]).tolist() == [True, False]
    b = Box(("-50 nm",) * 3, ("50 nm",) * 3)
    assert (b.lo, b.hi) == ((-0.05,) * 3, (0.05,) * 3) and b.volume == pytest.approx(1e-3)


@pytest.mark.parametrize("make, error, match", [
    (lambda: Cylinder((0, 0, 0), -1, 1), ValueError, r"^radius must be a positive length, got -1"),
    (lambda: Cylinder((0, 0, 0), 0.05, 0), ValueError, r"^height must be a positive length, got 0"),
    (lambda: Cylinder((0, 0, 0), True, 1), TypeError, r"^radius must be a length"),
    (lambda: Cylinder((0, 0), 0.05, 0.02), UnitError, r"^center: expected three coordinates \(x, y, z\), .*got \(0, 0\)"),
    (lambda: Cylinder((0, 0, 0), "50 ms", 1), UnitError, r"^radius: '50 ms' is not a length"),
    (lambda: Box((-1, -1), (1, 1)), UnitError, r"^lo: expected three coordinates"),
    (lambda: Box(("a",) * 3, (1, 1, 1)), UnitError, r"^lo\[0\]: 'a' is not a length"),
])
def test_shapes_refuse_bad_sizes_when_made(make, error, match):
    with pytest.raises(error, match=match):
        make()


# -- box(): only the surface vertices are built ---------------------------------------------------
def test_box_memory_grows_with_its_surface_not_its_volume(monkeypatch):
    monkeypatch.setattr(primitives, "_finish", lambda vertices, triangles, regions, shift: None)
    peaks = []
    for n in (60, 120):
        tracemalloc.start()
        box(1, divisions=n)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] / peaks[0] < 5          # 4 for the surface (n²); 8 for the whole lattice (n³)


# -- files and transforms ---------------------------------------------------------------------
def test_obj_coordinate_beyond_a_metre_names_file_line_and_unit(tmp_path):
    path = tmp_path / "far.obj"
    path.write_text(TET_OBJ.replace("v 1 0 0", "v 1e300 0 0"))
    with pytest.raises(MeshError, match=r"far\.obj', line 2 \('v 1e300 0 0'\): vertex 2 has a coordinate of "
                                        r"1e\+300 µm \(1 µm per file unit\), but cleftsim's geometry is at most 1 m "
                                        r".*load\(path, unit='nm'\)"):
        load(path)
    path.write_text(TET_OBJ.replace("v 1 0 0\nv 0 1 0\nv 0 0 1", "v 2e6 0 0\nv 0 2e6 0\nv 0 0 2e6"))  # 2 m in µm
    with pytest.raises(MeshError, match="vertex 2 has a coordinate of 2e.06 µm"):
        load(path)
    assert load(path, unit="nm").bounds[1] == pytest.approx([2e3] * 3)


def test_ply_coordinate_beyond_a_metre_names_the_vertex(tmp_path):
    path = tmp_path / "far.ply"
    path.write_text("ply\nformat ascii 1.0\nelement vertex 4\nproperty double x\nproperty double y\n"
                    "property double z\nelement face 4\nproperty list uchar int vertex_indices\nend_header\n"
                    "0 0 0\n1e300 0 0\n0 1 0\n0 0 1\n3 0 2 1\n3 0 1 3\n3 0 3 2\n3 1 2 3\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(MeshError, match=r"far\.ply': vertex 1 is \(1e\+300, 0\.0, 0\.0\), too far out \(a "
                                            r"corner of triangle 0, .*\): it has a coordinate of 1e\+300 µm"):
            load(path)


def test_ply_with_a_cut_header_is_named(tmp_path):
    (tmp_path / "cut.ply").write_text("ply\nformat ascii 1.0\n")
    with pytest.raises(MeshError, match=r"cut\.ply' is not a complete PLY file: its header has no 'end_header'"):
        load(tmp_path / "cut.ply")


def test_save_into_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cannot save .*x\.obj': the folder .*nodir' does not exist; create "
                                                r"it first"):
        save(box(1.0), tmp_path / "nodir" / "x.obj")
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match=r"file' is a file, not a folder"):
        save(box(1.0), tmp_path / "file" / "x.obj")


@pytest.mark.parametrize("factor", ["1 nm", [1, 2, 3], True, None])
def test_scaled_needs_a_plain_number(factor):
    with pytest.raises(TypeError, match=rf"^scale factor must be a plain number .*, not {re.escape(repr(factor))}; "
                                        r"to read a mesh file in another unit use geometry\.load\(path, unit='nm'\)"):
        box(1.0).scaled(factor)
    assert box(1.0).scaled(np.float64(2.0)).bounds[1] == pytest.approx([1, 1, 1])
