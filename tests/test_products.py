"""Volume molecules released by surface molecules appear on the side the molecule faces, even
when it sits exactly on an edge or a corner of its membrane (where an offset along the normal
alone would put them on the neighbouring face's plane, from which they can slip outside)."""
import numpy as np

import cleftsim as cs
from cleftsim.compiler import scene as world


def test_products_of_molecules_on_edges_and_corners_stay_inside():
    m = cs.Model(dt="1 us", seed=5)
    lig = m.add_species("L", D="0.3 um^2/ms")
    box = m.add_geometry(cs.geometry.box(size=(0.1, 0.1, 0.1)), "box")
    m.add_surface_species("S")
    m.add_surface_species("SL")
    m.add_reaction("L + S <-> SL", (1e8, 2e4))
    h = 0.05
    corners_and_edges = [(x, y, -h) for x in (-h, h, 0.0) for y in (-h, h, 0.0)]
    # one molecule per tile (cleftsim.physics.binding): the copies of a point take the free tiles nearest to it
    m.place("S", region=box.region("bottom"), positions=corners_and_edges * 3)
    m.place("SL", region=box.region("bottom"), positions=corners_and_edges * 3)
    m.release(lig, n=200, inside=box)
    sim = m.simulation()
    outside = 0
    for _ in range(200):
        sim.run("10 us")
        outside += int(np.count_nonzero(~world.contains(sim.scene, box.index, box.mesh, sim.positions(lig))))
    assert outside == 0
    assert min(sim.event_counts().values()) > 500       # about 1400 unbindings on and next to edges and corners
