import cleftsim as cs

m = cs.Model(dt="0.5 us", seed=3)
glu = m.add_species("glu", D="0.33 um^2/ms")
box = m.add_geometry(cs.geometry.box(size=(0.6, 0.6, 0.1)), name="box")
ampa = m.add_scheme(cs.schemes.ampa_jonas1993(ligand=glu))
m.place(ampa, region=box.region("bottom"), n=2000)            # ~5600 per µm², all unbound and closed
m.clamp(glu, inside=box, concentration=cs.waveforms.pulse("1 mM", start="0 ms", duration="1 ms"))
m.count(ampa.open, name="open")
res = m.run(t_end="5 ms", every="10 us")
po = res["open"] / 2000
print(po.max(), res.times[po.argmax()])                        # about 0.595 at about 1.05 ms

g = cs.Model(dt="1 us", seed=4)
lig = g.add_species("L", D="0.2 um^2/ms")
cube = g.add_geometry(cs.geometry.box(size=(1, 1, 1)), name="cube")
g.add_surface_species("S")
g.add_surface_species("SL")
g.add_reaction("L + S <-> SL", ("1e7 /M/s", "100 /s"))
g.place("S", region=cube.region("bottom"), n=5000)
g.release(lig, n=5000, inside=cube)
g.count("SL")
print(g.run(t_end="200 ms", every="1 ms")["SL"][-50:].mean())   # mass-action equilibrium of L + S <-> SL
