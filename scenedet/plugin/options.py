"""Declared plugin options: what ``-O KEY=VALUE`` (or a library call's keywords) may say to a plugin.

A :class:`~scenedet.plugin.DetectorSpec` lists its options as :class:`OptionSpec` values::

    DetectorSpec(name="frozen", factory=FrozenDetector, width=32, height=18, options=(
        OptionSpec("min_duration", float, 2.0, "shortest frozen stretch, seconds"),
        OptionSpec("mode", str, "any", "what counts as frozen", choices=("any", "exact")),
    ))

and :func:`check_options` turns what a person typed into the factory's keyword arguments, or a
one-line :class:`~scenedet.errors.UsageError`: an unknown key (with the valid keys and a "did you
mean"), a value of the wrong type (``shots: threshold must be a number, got 'abc'``), a value
outside ``choices``. ``scenedet plugins NAME`` shows the declarations; the factory still checks
ranges (``threshold`` in (0, 1)) and raises ``UsageError`` itself.

A spec that declares no options keeps the older behaviour: the keys are passed through unchanged
(values as typed: strings, or numbers for numeric-looking ones) and only checked against the
factory's signature, so a plugin written before options were declared keeps working.
"""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from scenedet.errors import UsageError

#: The types an option may have (what a person can type after ``-O KEY=``).
OPTION_TYPES: tuple[type, ...] = (int, float, bool, str)
#: Keywords the run offers a detector's factory itself (only to factories that name them): never
#: a user option, never declared, passed through :func:`check_options` untouched.
RUN_KEYWORDS = frozenset({"device", "batch_size", "runtime", "threads", "precision"})

_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
_TYPE_NAMES = {int: "int", float: "float", bool: "bool", str: "str"}


def did_you_mean(name: str, candidates: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The candidate closest to ``name`` (difflib), or ``None`` when none is close enough."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=cutoff)
    return close[0] if close else None


def _type_name(kind: Any) -> str:
    return _TYPE_NAMES.get(kind, getattr(kind, "__name__", repr(kind)))


def _what(kind: type) -> str:
    return {int: "a whole number", float: "a number", bool: "true or false (yes/no, 1/0)",
            str: "text"}[kind]


def convert(kind: type, value: Any) -> Any:
    """``value`` as ``kind`` (one of :data:`OPTION_TYPES`), or ``ValueError``.

    Strings (from the command line) are parsed; Python values are accepted when they are that
    type already, or losslessly convertible (an ``int`` for a ``float``, ``2.0`` for an ``int``,
    a number for a ``str``). ``bool`` takes ``true``/``false``, ``yes``/``no``, ``on``/``off``,
    ``1``/``0``, any case. A ``bool`` is never taken for a number.
    """
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, numbers.Integral) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(value)
    if isinstance(value, bool):
        raise ValueError(value)
    if kind is int:
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, numbers.Real) and float(value).is_integer():
            return int(value)
        if isinstance(value, str):
            text = value.strip()
            try:
                return int(text)
            except ValueError:
                number = float(text)  # "2.0" is 2; "abc" and "2.5" raise
                if number.is_integer():
                    return int(number)
        raise ValueError(value)
    if kind is float:
        if isinstance(value, numbers.Real):
            number = float(value)
        elif isinstance(value, str):
            number = float(value.strip())
        else:
            raise ValueError(value)
        if math.isnan(number):
            raise ValueError(value)
        return number
    if kind is str:
        if isinstance(value, str):
            return value
        if isinstance(value, numbers.Real):  # -O name=2 arrives as the number 2
            return str(value)
        raise ValueError(value)
    raise ValueError(value)


def _option_name(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, str) or not value.isidentifier():
        raise _spec_error(f"OptionSpec: name must be a Python identifier (a keyword of the factory), "
                          f"got {value!r}")
    if value in RUN_KEYWORDS:
        raise _spec_error(f"OptionSpec({value!r}): {value} is offered by the run to factories that "
                          "name it, not declared as an option")


def _option_type(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value not in OPTION_TYPES:
        raise _spec_error(f"OptionSpec({instance.name!r}): type must be int, float, bool or str, "
                          f"got {value!r}")


def _choices(value: Any) -> Any:
    return tuple(value) if isinstance(value, (list, set, frozenset)) else value


def _spec_error(message: str) -> Exception:
    from scenedet.plugin.specs import SpecError  # specs imports this module

    return SpecError(message)


@attrs.frozen
class OptionSpec:
    """One option a plugin takes: ``-O name=VALUE`` on the command line, ``name=`` in a library call.

    ``type`` is ``int``, ``float``, ``bool`` or ``str``; ``default`` is the factory's own default
    (``None``: unset, the factory decides), shown by ``scenedet plugins NAME``; ``help`` one line
    for people; ``choices``, when given, the only values allowed. The factory must accept a
    keyword ``name`` (checked when the spec is built).
    """

    name: str = attrs.field(validator=_option_name)
    type: type = attrs.field(validator=_option_type)
    default: Any = attrs.field()
    help: str = attrs.field()
    choices: tuple[Any, ...] = attrs.field(default=(), converter=_choices)

    def __attrs_post_init__(self) -> None:
        where = f"OptionSpec({self.name!r})"
        if not isinstance(self.help, str):
            raise _spec_error(f"{where}: help must be a string, got {self.help!r}")
        if not isinstance(self.choices, tuple):
            raise _spec_error(f"{where}: choices must be a tuple, got {self.choices!r}")
        choices = []
        for choice in self.choices:
            try:
                choices.append(convert(self.type, choice))
            except ValueError:
                raise _spec_error(f"{where}: choice {choice!r} is not {_what(self.type)}") from None
        default = self.default
        if default is not None:
            ok = (isinstance(default, self.type) and not (self.type is not bool and isinstance(default, bool))
                  or (self.type is float and isinstance(default, numbers.Integral)
                      and not isinstance(default, bool)))
            if not ok:
                raise _spec_error(f"{where}: default must be {_what(self.type)} (or None), "
                                  f"got {default!r}")
            default = convert(self.type, default)
            if choices and default not in choices:
                raise _spec_error(f"{where}: default {default!r} is not one of its choices")
        object.__setattr__(self, "default", default)
        object.__setattr__(self, "choices", tuple(choices))

    def check(self, plugin: str, value: Any) -> Any:
        """``value`` converted to this option's type, or a one-line :class:`UsageError`."""
        if value is None and self.default is None:
            return None
        try:
            out = convert(self.type, value)
        except ValueError:
            raise UsageError(f"{plugin}: {self.name} must be {_what(self.type)}, got {value!r}") from None
        if self.choices and out not in self.choices:
            raise UsageError(f"{plugin}: {self.name} must be one of "
                             f"{', '.join(map(repr, self.choices))}, got {value!r}")
        return out

    def to_dict(self) -> dict[str, Any]:
        """As ``scenedet plugins NAME --json`` shows it."""
        return {"name": self.name, "type": _type_name(self.type), "default": self.default,
                "help": self.help, "choices": list(self.choices)}


def check_declared(owner: str, options: Any, factory: Callable[..., Any] | None) -> str | None:
    """Why a spec's ``options`` cannot work (``None`` when they can): not a tuple of
    :class:`OptionSpec`, a name twice, a name ``factory`` does not accept."""
    if isinstance(options, list):
        options = tuple(options)
    if not isinstance(options, tuple) or not all(isinstance(o, OptionSpec) for o in options):
        return f"must be a tuple of OptionSpec, got {options!r}"
    names = [o.name for o in options]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        return f"declares {twice[0]!r} twice"
    accepted = factory_keywords(factory) if factory is not None else None
    if accepted is not None:
        missing = [n for n in names if n not in accepted]
        if missing:
            return (f"declares {missing[0]!r}, which its factory does not take "
                    f"(it takes: {', '.join(sorted(accepted - RUN_KEYWORDS)) or 'no keywords'})")
    return None


def factory_keywords(factory: Callable[..., Any]) -> frozenset[str] | None:
    """The keyword arguments ``factory`` accepts; ``None`` when it takes ``**kwargs`` or its
    signature cannot be read (then anything may go)."""
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return frozenset(p.name for p in params
                     if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD))


def _unknown(plugin: str, key: str, valid: Iterable[str]) -> UsageError:
    valid = sorted(valid)
    near = did_you_mean(key, valid)
    hint = f"; did you mean {near!r}?" if near else ""
    return UsageError(f"{plugin}: unknown option {key!r}{hint} "
                      f"(options: {', '.join(valid) if valid else 'none'})")


def check_options(plugin: str, spec: Any, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The options ``raw`` for ``spec``, checked and converted: the keywords for its factory.

    ``plugin`` is the name to put in messages (the one the person typed). ``raw`` maps keys to
    values: strings or numbers from ``-O KEY=VALUE`` (:func:`scenedet.cli.output.parse_options`)
    or Python values from a library call. Keys may use ``-`` for ``_``.

    With declared options (``spec.options``), each value is converted to its option's type and
    checked against its choices; only the keys given come back (the factory's defaults apply to
    the rest). Without, the keys are checked against the factory's signature (when it has no
    ``**kwargs``) and the values pass through unchanged. ``device`` and ``batch_size``
    (:data:`RUN_KEYWORDS`, the run's own offers) always pass through untouched.

    Every mistake is one :class:`~scenedet.errors.UsageError` line: ``shots: unknown option
    'treshold'; did you mean 'threshold'? (options: flash_confidence, threshold)``, ``shots:
    threshold must be a number, got 'abc'``.
    """
    if not isinstance(raw, Mapping):
        raise UsageError(f"{plugin}: options must be a mapping of names to values, got {raw!r}")
    declared = {o.name: o for o in getattr(spec, "options", ()) or ()}
    factory = getattr(spec, "factory", None)
    accepted = factory_keywords(factory) if factory is not None and not declared else None
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str):
            raise UsageError(f"{plugin}: option names are strings, got {key!r}")
        name = key.strip().replace("-", "_")
        if name in RUN_KEYWORDS:
            out[name] = value
        elif declared:
            if name not in declared:
                raise _unknown(plugin, name, declared)
            out[name] = declared[name].check(plugin, value)
        elif accepted is not None and name not in accepted:
            raise _unknown(plugin, name, accepted - RUN_KEYWORDS)
        else:
            out[name] = value
    return out
