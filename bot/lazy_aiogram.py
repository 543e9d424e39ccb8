"""Import aiogram with its Telegram types built on first use instead of all at import.

aiogram declares its ~400 types with pydantic's `defer_build=True`, then calls
`model_rebuild()` on every one of them at import, which builds each model's complete schema
with every nested type inlined: about 150 MB of resident memory (aiogram 3.31, pydantic 2.13)
and two seconds, for types a CRM bot mostly never sees. Here that import-time rebuild only
records the namespace aiogram passes, so each model builds, from that namespace, the first
time it is used. A bot process then starts with ~65 MB instead of ~170 MB.

`install()` must run before anything imports aiogram (the `bot` package calls it first); if
aiogram is already imported it does nothing.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel

_namespace: dict[str, Any] = {}


def install() -> None:
    if "aiogram" in sys.modules or _namespace:
        return
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
        import aiogram.methods
        import aiogram.types
    finally:
        # Put pydantic's own method back (the same patching as above).
        BaseModel.model_rebuild = classmethod(original)  # type: ignore[assignment,method-assign]
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
