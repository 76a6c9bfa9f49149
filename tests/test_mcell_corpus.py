"""MCell's own test models (../shared/mcell/models, MIT licence, read in place): each either loads
or is refused with an MDLError naming the file, the line and the construct — never another
exception — and the models that load run a few steps, or are refused when compiled with a
ModelError (a rate too fast for the file's time step, say). The counts (loaded, refused by
construct, refused when compiled) are printed (pytest -s)."""
import collections
import time
import warnings
from pathlib import Path

import pytest

import cleftsim as cs
from cleftsim.errors import MDLError

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "mcell" / "models"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"MCell's test models not found at {CORPUS}")
#: Steps run of each model that loads (a smoke run; the physics is tested elsewhere).
STEPS = 5
#: A run is skipped when its compile alone takes longer than this (s).
SLOW = 10.0


def main_file(folder: Path) -> Path:
    """The model's main MDL file: test.mdl or Scene.main.mdl, else one no other file includes."""
    for name in ("test.mdl", "Scene.main.mdl"):
        if (folder / name).exists():
            return folder / name
    files = sorted(folder.glob("*.mdl"))
    included = {f.name for f in files for g in files if f != g and f.name in g.read_text(errors="replace")}
    roots = [f for f in files if f.name not in included]
    return (roots or files)[0]


@pytest.mark.slow
def test_every_corpus_model_loads_or_is_refused_with_an_mdl_error():
    loaded, refused, uncompiled, ran, failed = [], collections.Counter(), collections.Counter(), 0, []
    for folder in sorted(p for p in CORPUS.iterdir() if p.is_dir() and list(p.glob("*.mdl"))):
        path = main_file(folder)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = cs.mcell.load(path, seed=1)
                loaded.append(folder.name)
                t0 = time.perf_counter()
                try:
                    sim = model.simulation()
                except cs.ModelError as err:          # e.g. a rate too fast for the file's time step
                    uncompiled[str(err).split(":")[0][:60]] += 1
                    continue
                if time.perf_counter() - t0 < SLOW:
                    sim.advance(min(STEPS, round((model.t_end or 0.0) / model.dt)))
                    ran += 1
        except MDLError as err:
            assert str(folder) in str(err), str(err)
            refused[err.construct.split(" ")[0]] += 1
        except Exception as exc:                      # noqa: BLE001 - every other exception is a bug
            failed.append(f"{folder.name}: {type(exc).__name__}: {exc}")
    print(f"\n{len(loaded)} loaded ({ran} ran {STEPS} steps), {sum(refused.values())} refused:")
    for construct, n in refused.most_common():
        print(f"  {n:4d}  {construct}")
    print(f"{sum(uncompiled.values())} loaded but refused when compiled (ModelError):")
    for reason, n in uncompiled.most_common():
        print(f"  {n:4d}  {reason}")
    assert not failed, "\n".join(failed)
    assert loaded
