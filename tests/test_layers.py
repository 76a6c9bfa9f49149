"""The package's layer rule (README, "How it fits together"): a module imports, at its top level,
only modules of its own layer or of the layers below; the one exception is documented
(Model.run and Model.simulation import the engine when called). Imports inside functions are
lazy by design (optional dependencies, the documented exception) and are not layer edges, except
that none may reach a higher layer from model/ other than the engine."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "cleftsim"

#: Layers from the bottom; a module belongs to the layer of its first path component.
LAYERS = [
    {"errors", "units", "version", "_core"},
    {"geometry", "physics", "results"},
    {"model"},
    {"compiler"},
    {"engine"},
    {"run"},
    {"biology"},
    {"mcell", "plot"},
    {"__init__"},
]


def layer(module: str) -> int:
    """The layer of a dotted module name below cleftsim (e.g. "compiler.scene")."""
    head = module.split(".")[0]
    return next(i for i, names in enumerate(LAYERS) if head in names)


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" and len(rel.parts) > 1 else rel.parts
    return ".".join(parts)


def imports(path: Path, top_level: bool) -> set[str]:
    """cleftsim modules (below cleftsim) imported by the file, at its top level or in functions;
    imports under ``if TYPE_CHECKING:`` are annotations only and do not count."""
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            node.body = []
    nodes = tree.body if top_level else [n for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef,))
                                          for n in ast.walk(f)]
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cleftsim"):
            base = node.module.removeprefix("cleftsim").lstrip(".")
            for a in node.names:                     # from cleftsim.model import reactions: the submodule
                sub = f"{base}.{a.name}" if base else a.name
                out.add(sub if (PACKAGE / sub.replace(".", "/")).with_suffix(".py").exists()
                        or (PACKAGE / sub.replace(".", "/")).is_dir() else base)
        elif isinstance(node, ast.Import):
            out.update(a.name.removeprefix("cleftsim.") for a in node.names if a.name.startswith("cleftsim."))
    return out


def test_every_top_level_import_goes_to_the_same_or_a_lower_layer():
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        me = module_name(path)
        for dep in imports(path, top_level=True):
            if layer(dep) > layer(me):
                bad.append(f"{me} (layer {layer(me)}) imports {dep} (layer {layer(dep)})")
    assert not bad, "\n".join(bad)


def test_the_model_reaches_up_only_to_the_engine_when_run():
    for path in sorted((PACKAGE / "model").rglob("*.py")):
        up = {dep for dep in imports(path, top_level=False) if layer(dep) > layer("model")}
        assert up <= {"engine.simulation"}, f"{module_name(path)} imports {up} in a function"


def test_there_are_no_import_cycles_at_the_top_level():
    graph = {module_name(p): {d for d in imports(p, top_level=True)} for p in PACKAGE.rglob("*.py")}
    names = set(graph)

    def resolve(dep: str) -> str | None:                 # a name imported from a package is its module
        while dep and dep not in names:
            dep = dep.rpartition(".")[0]
        return dep or None

    edges = {m: {r for d in deps if (r := resolve(d)) is not None and r != m} for m, deps in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in edges[m]:
            if state.get(n) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(n):] + [n]))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)
