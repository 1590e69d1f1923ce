"""The text JSON columns are stored as: what json.dumps writes, byte for byte.

json.dumps builds the standard library's C encoder anew for every value (and goes through
two Python methods to reach it); a bulk import encodes three values a row (a change
record's before and after, an event's data). Here the same encoder, with json.dumps's own
settings, is built once. The one difference: no check for circular references (json.dumps
keeps a fresh table of them per call, which a shared encoder cannot), so a value that
contains itself ends in RecursionError rather than ValueError; no stored value does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json import encoder
from typing import Any

_DEFAULTS = json.JSONEncoder()
# The C accelerator's encoder class (json.encoder's own; typeshed does not declare it).
_make: Callable[..., Callable[[Any, int], list[str]]] | None = getattr(
    encoder, "c_make_encoder", None
)
_encode = (
    _make(
        None,  # markers: see the module's docstring
        _DEFAULTS.default,
        encoder.encode_basestring_ascii,  # ensure_ascii, as json.dumps
        None,  # indent
        ": ",
        ", ",
        False,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan
    )
    if _make is not None
    else None
)


def dumps(value: Any) -> str:
    """json.dumps(value), made by an encoder built once."""
    if _encode is None:  # a Python without the C accelerator
        return json.dumps(value)
    return "".join(_encode(value, 0))
