"""cmgraph: keep every client's Case Manager right.

Plugin authors import the marker from here::

    from cmgraph import hookimpl
"""

import pluggy

__version__ = "0.1.0"

PROJECT_NAME = "cmgraph"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["PROJECT_NAME", "__version__", "hookimpl"]
