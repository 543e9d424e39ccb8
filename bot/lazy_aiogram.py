"""Import aiogram with its Telegram types built on first use instead of all at import.

aiogram declares its ~400 types with pydantic's `defer_build=True`, then calls
`model_rebuild()` on every one of them at import, which builds each model's complete schema
with every nested type inlined: about 150 MB of resident memory (aiogram 3.31, pydantic 2.13)
and two seconds, for types a CRM bot mostly never sees. Here that import-time rebuild only
records the namespace aiogram passes, so each model builds, from that namespace, the first
time it is used. A bot process then starts with ~65 MB instead of ~170 MB.

`install()` must run before anything imports aiogram; if aiogram is already imported it does
nothing. The `bot` package calls `install_on_first_import()` first: aiogram (about a second
of import even so) is imported, and patched, only by what needs it; `crmbot migrate`,
`source`, `currency` and `product` never do.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import inspect
import sys
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel

_namespace: dict[str, Any] = {}


def install() -> None:
    if "aiogram" in sys.modules or _namespace:
        return
    _uninstall_finder()
    with _recording_rebuilds():
        _import_types()
    _collect_namespace()


def install_on_first_import() -> None:
    """What `install()` does, when (and if) something imports aiogram."""
    if (
        "aiogram" in sys.modules
        or _namespace
        or any(isinstance(f, _FirstImportFinder) for f in sys.meta_path)
    ):
        return
    sys.meta_path.insert(0, _FirstImportFinder())


def _uninstall_finder() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _FirstImportFinder)]


class _FirstImportFinder(importlib.abc.MetaPathFinder):
    """Finds aiogram as Python would, with a loader that runs it the way `install()` does."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "aiogram":
            return None
        _uninstall_finder()
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec: importlib.machinery.ModuleSpec | None = (
                find(fullname, path, target) if find is not None else None
            )
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _InstallingLoader(spec.loader)
                return spec
        return None


class _InstallingLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, …
        return getattr(self._loader, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        with _recording_rebuilds():
            self._loader.exec_module(module)
            _import_types()
        _collect_namespace()


def _import_types() -> None:
    importlib.import_module("aiogram.methods")
    importlib.import_module("aiogram.types")


@contextlib.contextmanager
def _recording_rebuilds() -> Iterator[None]:
    original = BaseModel.model_rebuild.__func__  # type: ignore[attr-defined]  # untyped __func__

    def record_only(
        cls: type[BaseModel],
        *,
        force: bool = False,
        raise_errors: bool = True,
        _parent_namespace_depth: int = 2,
        _types_namespace: Any = None,
    ) -> bool | None:
        if _types_namespace is not None and not force and cls.__module__.startswith("aiogram."):
            _remember(cls, dict(_types_namespace))
            return None
        return original(  # type: ignore[no-any-return]  # __func__ is untyped
            cls,
            force=force,
            raise_errors=raise_errors,
            _parent_namespace_depth=_parent_namespace_depth + 1,
            _types_namespace=_types_namespace,
        )

    # Patching a method of a class, for the import below only: mypy forbids both on purpose.
    BaseModel.model_rebuild = classmethod(record_only)  # type: ignore[assignment,method-assign]
    try:
        yield
    finally:
        # Put pydantic's own method back (the same patching as above).
        BaseModel.model_rebuild = classmethod(original)  # type: ignore[assignment,method-assign]


def _collect_namespace() -> None:
    import aiogram.methods
    import aiogram.types
    from aiogram.client.default import Default

    typing_names = {"List": list, "Optional": Optional, "Union": Union, "Literal": Literal}
    _namespace.update({**typing_names, "Default": Default})
    _namespace.update({name: getattr(aiogram.types, name) for name in aiogram.types.__all__})
    # Methods are not rebuilt by aiogram; they meet the same types when they build lazily.
    for _name, cls in inspect.getmembers(aiogram.methods, inspect.isclass):
        if issubclass(cls, BaseModel):
            _remember(cls, _namespace)


def prepare(model: type[BaseModel]) -> type[BaseModel]:
    """Give a model made later (such as `Response[Message]`) the types' namespace."""
    if _namespace:
        _remember(model, _namespace)
    return model


def _remember(cls: type[BaseModel], namespace: dict[str, Any]) -> None:
    cls.__pydantic_parent_namespace__ = {**(cls.__pydantic_parent_namespace__ or {}), **namespace}
