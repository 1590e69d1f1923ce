"""The one rule of text a caller sends (names, notes, ids, searches: every string).

Text is valid Unicode scalar values (no lone surrogate, which no database stores), without
control characters (a line break or tab only where a field takes several lines) and without
bidirectional formatting characters (U+202E and its kin reorder what a screen shows, so a
name could pass for another). Other formatting characters (zero-width joiners, which some
scripts need) may appear, but a name made only of them and spaces is blank: nothing to
show, nothing to search for.

Every string of a request is checked against `problem` before anything runs (api.guard);
the use cases then ask `visible` whether what is left is blank (services.lookups.text)."""

from __future__ import annotations

import unicodedata

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""Arabic letter mark, LRM, RLM, the embeddings and overrides, and the isolates (Unicode's
Bidi_Control property)."""

LINE_BREAKS = frozenset("\n\r\t")


def problem(value: str, multiline: bool = True) -> str | None:
    """Why `value` is not text, or None. `multiline`: line breaks and tabs are allowed."""
    if value.isprintable():
        # Printable excludes every category refused below (Cs, Cc, and the bidirectional
        # controls, which are Cf), in C: a request of 500 ids is checked in microseconds.
        return None
    for ch in value:
        category = unicodedata.category(ch)
        if category == "Cs":
            return "The text is not valid Unicode (a lone surrogate)."
        if category == "Cc" and not (multiline and ch in LINE_BREAKS):
            return "The text holds control characters."
        if ch in BIDI_CONTROLS:
            return "The text holds bidirectional formatting characters (such as U+202E)."
    return None


def visible(value: str) -> str:
    """`value` without formatting characters nor surrounding white space: empty when it
    would show nothing."""
    return "".join(ch for ch in value if unicodedata.category(ch) != "Cf").strip()
