"""The installed version of cleftsim."""
from functools import lru_cache


@lru_cache(maxsize=1)
def version() -> str:
    """The version of the installed package ("0+unknown" in a source tree without installation)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("cleftsim")
    except PackageNotFoundError:
        return "0+unknown"
