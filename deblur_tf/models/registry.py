"""One registry of generators and critics by name (BasicSR-style: one file + one name per arch)."""

from __future__ import annotations

from typing import Callable

import keras

GENERATORS: dict[str, type] = {}
CRITICS: dict[str, type] = {}
#: preset name -> (architecture name, default arguments); presets build like architectures.
PRESETS: dict[str, tuple[str, dict]] = {}


def _register(table: dict, kind: str, name: str) -> Callable[[type], type]:
    def wrap(cls: type) -> type:
        if name in table:
            raise ValueError(f"{kind} {name!r} is already registered by {table[name].__name__}")
        table[name] = keras.saving.register_keras_serializable(package="deblur_tf")(cls)
        cls.registered_name = name
        return cls
    return wrap


def register_generator(name: str):
    return _register(GENERATORS, "generator", name)


def register_critic(name: str):
    return _register(CRITICS, "critic", name)


def register_preset(name: str, arch: str, **kwargs) -> None:
    """A named set of arguments for a registered architecture (e.g. a CPU-sized variant)."""
    if name in PRESETS or name in GENERATORS or name in CRITICS:
        raise ValueError(f"name {name!r} is already registered")
    PRESETS[name] = (arch, kwargs)


def _build(table: dict, kind: str, name: str, kwargs: dict) -> keras.Model:
    if name in PRESETS:
        name, defaults = PRESETS[name]
        kwargs = {**defaults, **kwargs}
    if name not in table:
        raise ValueError(f"unknown {kind} {name!r}; registered: {', '.join(sorted(table))}; presets: {', '.join(sorted(PRESETS))}")
    cls = table[name]
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ValueError(f"bad arguments for {kind} {name!r}: {e}") from None


def build_generator(name: str, **kwargs) -> keras.Model:
    return _build(GENERATORS, "generator", name, kwargs)


def build_critic(name: str, **kwargs) -> keras.Model:
    return _build(CRITICS, "critic", name, kwargs)
