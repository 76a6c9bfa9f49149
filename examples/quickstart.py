"""The API contract of issue #2 (runs as written; tests/test_examples.py runs it)."""
import numpy as np
import cleftsim as cs

model = cs.Model(dt="1 us", seed=42)
glu = model.add_species("glu", D="0.33 um^2/ms")
cleft = model.add_geometry(cs.geometry.cylinder(radius="200 nm", height="20 nm", segments=128), name="cleft")
model.set_surface(glu, cleft.region("side"), "absorb")   # other regions keep the default: reflect
model.release(glu, n=20000, at=(0.0, 0.0, 0.0))          # µm; the cylinder is centred on the origin
model.count(glu, inside=cleft, name="in_cleft")
result = model.run(t_end="300 us", every="1 us")
survival = result["in_cleft"] / 20000
print("mean escape time (us):", np.trapezoid(survival, result.times) * 1e6)   # about 30.3

free = cs.Model(dt="1 us", seed=1)
a = free.add_species("a", D=330.0)                      # plain floats: µm²/s
free.release(a, n=100000, at=(0, 0, 0))
sim = free.simulation()
sim.run("100 us")
r2 = (sim.positions(a) ** 2).sum(axis=1)
print("MSD / 6Dt:", r2.mean() / (6 * 330.0 * 100e-6))  # about 1
