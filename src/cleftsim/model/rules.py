"""Surface rules: what a surface does to a volume molecule that reaches it. The codes are the
kernels' own (cython_ext/cleftsim/_core/scene.pxd), written there once."""
from cleftsim._core.scene import RULE_ABSORB as ABSORB
from cleftsim._core.scene import RULE_MASK as RULE_MASK
from cleftsim._core.scene import RULE_REACTIVE as REACTIVE
from cleftsim._core.scene import RULE_REFLECT as REFLECT
from cleftsim._core.scene import RULE_TRANSPARENT as TRANSPARENT

#: The rules by the names model.set_surface takes.
RULES = {"reflect": REFLECT, "absorb": ABSORB, "transparent": TRANSPARENT}

__all__ = ["ABSORB", "REACTIVE", "REFLECT", "RULES", "RULE_MASK", "TRANSPARENT"]
