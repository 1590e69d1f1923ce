"""What `cmgraph plugins` prints: each loaded plugin, where it came from and its hooks, then
its rules (codes, the built-in rules they replace), the payor settings it reads and, when an
organization is named, that organization's payors naming it."""

from __future__ import annotations

from collections.abc import Iterator

from cmgraph.facts import RuleInfo
from cmgraph.plugins import RuleBook
from cmgraph.rules import BUILTIN_PLUGIN


def lines(book: RuleBook, naming: dict[str, list[str]] | None = None) -> Iterator[str]:
    rules = book.rules()
    for name, plugin in sorted(book.pm.list_name_plugin()):
        if plugin is None:
            continue
        hooks = sorted(h.name for h in book.pm.get_hookcallers(plugin) or [])
        yield f"{name}\t{book.origin(name)}\t{', '.join(hooks)}"
        builtin = name.startswith(f"{BUILTIN_PLUGIN}.")
        stamped = BUILTIN_PLUGIN if builtin else name
        if builtin:
            continue  # the built-in rules are listed once, under cmgraph (below)
        yield from _details(book, rules, stamped)
        if naming is not None:
            yield f"  payors: {', '.join(naming.get(name, [])) or 'none'}"
    yield f"{BUILTIN_PLUGIN}\tbuilt-in rules, every payor\t"
    yield from _details(book, rules, BUILTIN_PLUGIN)


def _details(book: RuleBook, rules: list[RuleInfo], plugin: str) -> Iterator[str]:
    for rule in (r for r in rules if r.plugin == plugin):
        codes = ", ".join(rule.codes) or "no codes"
        replaces = f" (replaces {', '.join(rule.replaces)})" if rule.replaces else ""
        yield f"  rule {rule.name}: {codes}{replaces}"
    for setting in (s for s in book.setting_declarations if s.plugin == plugin):
        yield (
            f"  setting {setting.name} ({setting.kind.value}, default {setting.default!r})"
            + (f": {setting.description}" if setting.description else "")
        )
