import numpy as np
import cleftsim as cs

model = cs.mcell.load("../shared/mcell/rat_nmj/Scene.main.mdl", seed=1)
print(model)                                          # species, objects, regions, reactions, releases
ens = cs.run_ensemble(model, trials=8, seed=1)        # 500 us sampled every 1 us, from the file
free, opened = ens.mean("ACh.World"), ens.mean("AChR4.World")
print("peak free ACh", free.max(), "at", ens.times[free.argmax()] * 1e6, "us")
print("open AChR at 500 us", opened[-1])
res = model.run()
cs.mcell.write_reaction_data(res, "react_data/seed_00001")
