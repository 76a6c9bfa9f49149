import cleftsim as cs

m = cs.Model(dt="1 ms", seed=5)
box = m.add_geometry(cs.geometry.box(size=(2, 2, 2)), name="box")
for name in ("E", "S", "ES", "P"):
    m.add_species(name, D="10 um^2/s")
m.add_reaction("E + S <-> ES", ("0.01 um^3/s", "1 /s"))
m.add_reaction("ES -> E + P", "1 /s")
m.release("E", n=800, inside=box)
m.release("S", n=8000, inside=box)
m.count("P")
res = m.run(t_end="10 s", every="0.1 s")
print(res["P"][-1])    # Michaelis–Menten: compare with the ODE of the same scheme
