"""The built-in rules of DOMAIN.md, one module each, registered as ordinary plugins.

Every hook implementation here is ``trylast`` so that any payor plugin's answer wins.
"""

from cmgraph.rules import (
    credentialing,
    expiry,
    familiarity,
    gaps,
    in_use,
    lead_time,
    overlap,
    qualification,
    rendering,
)
from cmgraph.rules._finding import BUILTIN_PLUGIN

BUILTIN_RULES = (
    rendering,
    credentialing,
    qualification,
    lead_time,
    overlap,
    gaps,
    familiarity,
    in_use,
    expiry,
)

__all__ = ["BUILTIN_PLUGIN", "BUILTIN_RULES"]
