"""A closed pydantic model's checks without pydantic, for the per-request hot path.

The audit record and the identity envelope are built on every request from values this
code already holds in their final types. :class:`ClosedSchema` compiles a model's field
annotations and constraints (``Literal``, ``pattern``, lengths, bounds, ``X | None``,
``tuple[str, ...]``) once, at import, into plain predicates. :meth:`ClosedSchema.build` returns
the model instance when every value passes with exactly the type pydantic would keep, and
None otherwise: the caller then validates through pydantic, which coerces or raises its usual
error. Only exact types take the fast path (a ``str`` subclass, a ``bool`` for an ``int``, an
``int`` for a ``float``, a non-ASCII text under a pattern all go to pydantic), so the fast path
never has to reproduce a coercion. Property tests hold the two paths equal over generated input
(``tests/unit/test_closed_schema.py``).

A field whose annotation or constraint this module does not know, or a validator without a
declared equivalent, turns the fast path off for that model (correct, only slower).
"""

from __future__ import annotations

import json
import math
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = [
    "ClosedSchema",
    "dumps_scalars",
]

Model = TypeVar("Model", bound="BaseModel")
Check = Callable[[Any], bool]
_MISSING = object()
_set_attribute = object.__setattr__


def _never(value: Any) -> bool:
    return False


def _constraints(metadata: list[Any]) -> dict[str, Any] | None:
    found: dict[str, Any] = {}
    for item in metadata:
        names = [name for name in ("pattern", "min_length", "max_length", "ge", "le", "gt", "lt")
                 if getattr(item, name, None) is not None]
        if not names:
            return None  # a constraint we do not know
        for name in names:
            found[name] = getattr(item, name)
    return found


def _string_check(limits: dict[str, Any]) -> Check:
    pattern = limits.get("pattern")
    # pydantic reads "^...$" with Rust regex semantics ("$" = end of text): fullmatch of the body.
    # ASCII only on the fast path: "\d" and case rules are where the two engines could differ.
    compiled = re.compile(pattern[1:-1] if pattern.startswith("^") and pattern.endswith("$") else pattern) \
        if pattern is not None else None
    low, high = limits.get("min_length", 0), limits.get("max_length")

    def check(value: Any) -> bool:
        if type(value) is not str or len(value) < low or (high is not None and len(value) > high):
            return False
        if compiled is None:
            return True
        if pattern.startswith("^"):
            return value.isascii() and compiled.fullmatch(value) is not None
        return value.isascii() and compiled.search(value) is not None

    return check


def _number_check(kind: type, limits: dict[str, Any]) -> Check:
    ge, le, gt, lt = (limits.get(name) for name in ("ge", "le", "gt", "lt"))

    def check(value: Any) -> bool:
        if type(value) is not kind or (kind is float and not math.isfinite(value)):
            return False
        return ((ge is None or value >= ge) and (le is None or value <= le)
                and (gt is None or value > gt) and (lt is None or value < lt))

    return check


def _compile(annotation: Any, metadata: list[Any]) -> Check:
    limits = _constraints(metadata)
    if limits is None:
        return _never
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType) and type(None) in args and len(args) == 2:
        inner = _compile(next(a for a in args if a is not type(None)), metadata)
        return lambda value: value is None or inner(value)
    if origin is typing.Literal and not limits and all(type(a) is str for a in args):
        allowed = frozenset(args)
        return lambda value: type(value) is str and value in allowed
    if annotation is str:
        return _string_check(limits)
    if annotation in (int, float):
        return _number_check(annotation, limits)
    if annotation is bool and not limits:
        return lambda value: type(value) is bool
    if origin is tuple and args == (str, Ellipsis) and not limits:
        return lambda value: type(value) is tuple and all(type(item) is str for item in value)
    return _never


class ClosedSchema(Generic[Model]):
    """``model``'s field checks, compiled; ``validators`` maps each of the model's field
    validator names to its plain equivalent (a predicate on the field's value)."""

    def __init__(self, model: type[Model], validators: Mapping[str, Check] | None = None) -> None:
        self.model = model
        self.fields = tuple(model.model_fields)
        self.checks: dict[str, Check] = {}
        self._required = frozenset(name for name, info in model.model_fields.items() if info.is_required())
        self._constants: dict[str, Any] = {}
        self._factories: dict[str, Callable[[], Any]] = {}
        for name, info in model.model_fields.items():
            self.checks[name] = _compile(info.annotation, info.metadata)
            if info.default_factory is not None:
                self._factories[name] = info.default_factory  # type: ignore[assignment]
            elif not info.is_required():
                self._constants[name] = info.default
        decorators = model.__pydantic_decorators__
        declared = dict(validators or {})
        self.usable = not decorators.model_validators and not decorators.root_validators \
            and not decorators.validators and set(decorators.field_validators) <= set(declared) \
            and model.model_config.get("extra") == "forbid" and not model.model_config.get("strict") \
            and not model.model_config.get("str_strip_whitespace") and not model.model_config.get("validate_default")
        for validator_name, decorator in decorators.field_validators.items():
            if decorator.info.mode != "after" or validator_name not in declared:
                self.usable = False
                continue
            extra_check = declared[validator_name]
            for field_name in decorator.info.fields:
                base = self.checks[field_name]
                self.checks[field_name] = (lambda value, b=base, e=extra_check: b(value) and e(value))

    def unknown_fields(self) -> list[str]:
        """Fields whose check could not be compiled (they always take the pydantic path)."""
        return [name for name, check in self.checks.items() if check is _never]

    def build(self, values: Mapping[str, Any]) -> Model | None:
        """The model instance for ``values`` if they pass every check as they are, else None."""
        if not self.usable or not self._required <= values.keys():
            return None
        checks = self.checks
        for name, value in values.items():
            check = checks.get(name)
            if check is None or not check(value):
                return None
        data = {}
        for name in self.fields:
            value = values.get(name, _MISSING)
            if value is _MISSING:
                factory = self._factories.get(name)
                value = factory() if factory is not None else self._constants[name]
            data[name] = value
        instance = self.model.__new__(self.model)
        # What BaseModel.model_construct sets: the values (already checked), which were given.
        _set_attribute(instance, "__dict__", data)
        _set_attribute(instance, "__pydantic_fields_set__", set(values))
        _set_attribute(instance, "__pydantic_extra__", None)
        _set_attribute(instance, "__pydantic_private__", None)
        return instance


# json.dumps(record, separators=(",", ":")) builds this C encoder on every call; built once here,
# it writes the same bytes (the same function, the same options) for a flat record of scalars.
def _not_a_scalar(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_ENCODE_SCALARS = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
    None, _not_a_scalar, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True,
) if getattr(json.encoder, "c_make_encoder", None) is not None else None


def dumps_scalars(record: dict[str, Any]) -> str:
    """``json.dumps(record, separators=(",", ":"))`` for a dict of str keys and scalar values."""
    if _ENCODE_SCALARS is None:
        return json.dumps(record, separators=(",", ":"))
    return "".join(_ENCODE_SCALARS(record, 0))
