"""cmgraph: keep every client's Case Manager right.

Plugin authors import the marker from here::

    from cmgraph import hookimpl
"""

from importlib.metadata import PackageNotFoundError, version

import pluggy

PROJECT_NAME = "cmgraph"

# pyproject.toml's version is the only spelling; the installed metadata carries it here.
try:
    __version__ = version(PROJECT_NAME)
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["PROJECT_NAME", "__version__", "hookimpl"]
