"""Strawberry's schema extension hooks, looked up once per extension class.

For every request and each of its four stages (operation, parsing, validation, execution),
Strawberry asks each extension whether it implements the stage's hook (inspect's check of
the function's code flags) and wraps the generator hook it finds in a new
contextlib.contextmanager, which copies the function's name and docstring onto the wrapper
(functools.update_wrapper). That was a third of what a query spent in Strawberry before its
first resolver. Here the answer is kept per extension class and stage, and a generator hook
is entered as the same context manager contextlib would make, without remaking the
decorator each time. Hooks of any other kind (plain or async functions, async generators)
are left to Strawberry's own lookup.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import (
    ExecutingContextManager,
    OperationContextManager,
    ParsingContextManager,
    ValidationContextManager,
    WrappedHook,
)
from strawberry.extensions.runner import SchemaExtensionsRunner

_FOUND: dict[tuple[type[SchemaExtension], str], Callable[..., Any] | None] = {}


def _generator_hook(extension_class: type[SchemaExtension], name: str) -> Callable[..., Any] | None:
    """The class's hook for this stage when it is a generator function (the form every
    extension of this schema uses); None otherwise. Looked up once per class and stage."""
    key = (extension_class, name)
    if key not in _FOUND:
        hook = getattr(extension_class, name)
        generator = hook is not getattr(SchemaExtension, name) and inspect.isgeneratorfunction(hook)
        _FOUND[key] = hook if generator else None
    return _FOUND[key]


def _entered(hook: Callable[..., Any], extension: SchemaExtension) -> Any:
    # what contextlib.contextmanager(types.MethodType(hook, extension))() returns
    return contextlib._GeneratorContextManager(hook, (extension,), {})


class _KeptLookup:
    HOOK_NAME: str

    def get_hook(self, extension: SchemaExtension) -> WrappedHook | None:
        kind = type(extension)
        name = self.HOOK_NAME
        hook = _generator_hook(kind, name)
        if hook is None:
            if getattr(kind, name) is getattr(SchemaExtension, name):
                return None  # the extension has nothing to do at this stage
            return super().get_hook(extension)  # type: ignore[misc, no-any-return]
        return WrappedHook(
            extension=extension, hook=functools.partial(_entered, hook, extension), is_async=False
        )


class _Operation(_KeptLookup, OperationContextManager):
    pass


class _Parsing(_KeptLookup, ParsingContextManager):
    pass


class _Validation(_KeptLookup, ValidationContextManager):
    pass


class _Executing(_KeptLookup, ExecutingContextManager):
    pass


class Runner(SchemaExtensionsRunner):
    """Strawberry's runner, each stage's hooks looked up as above."""

    def operation(self) -> OperationContextManager:
        return _Operation(self.extensions)

    def parsing(self) -> ParsingContextManager:
        return _Parsing(self.extensions)

    def validation(self) -> ValidationContextManager:
        return _Validation(self.extensions)

    def executing(self) -> ExecutingContextManager:
        return _Executing(self.extensions)
