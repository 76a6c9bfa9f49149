"""Surface rules: what a surface does to a volume molecule that reaches it. The codes are those
of the kernels (cython_ext/cleftsim/_core/scene.pxd)."""
REFLECT, ABSORB, TRANSPARENT = 0, 1, 2
#: Flag on a (region, species) rule: surface molecules there bind the species on hits.
REACTIVE = 4
#: The rule without its flags.
RULE_MASK = 3
#: The rules by the names model.set_surface takes.
RULES = {"reflect": REFLECT, "absorb": ABSORB, "transparent": TRANSPARENT}
