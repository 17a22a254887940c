"""A registry of one kind of component, timm-style: look up by name or alias, list with a filter."""

from __future__ import annotations

import difflib
import fnmatch
from typing import Generic, TypeVar

from scenedet.errors import UnknownComponentError

S = TypeVar("S")


class Registry(Generic[S]):
    """Specs of one kind (``"backbone"``, ...) keyed by name, with aliases and owning plugin."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._specs: dict[str, S] = {}
        self._aliases: dict[str, str] = {}
        self._owner: dict[str, str] = {}

    def add(self, spec: S, plugin: str) -> None:
        """Add ``spec`` for ``plugin``; a name already taken is an error naming both plugins."""
        name = spec.name  # type: ignore[attr-defined]
        for key in (name, *spec.aliases):  # type: ignore[attr-defined]
            taken = self._owner.get(self._aliases.get(key, key))
            if key in self._specs or key in self._aliases:
                raise ValueError(
                    f"{self.kind} {key!r} from plugin {plugin!r} is already registered by {taken!r}"
                )
        self._specs[name] = spec
        self._owner[name] = plugin
        for alias in spec.aliases:  # type: ignore[attr-defined]
            self._aliases[alias] = name

    def get(self, name: str) -> S:
        """The spec for ``name``, an alias, or ``prefix:variant`` of a prefix spec."""
        if not isinstance(name, str):
            raise UnknownComponentError(f"{self.kind} name must be a string, got {name!r}")
        key = self._aliases.get(name, name)
        if key in self._specs:
            return self._specs[key]
        head, sep, _variant = name.partition(":")
        if sep:
            spec = self._specs.get(self._aliases.get(head, head))
            if spec is not None and getattr(spec, "prefix", False):
                return spec
        known = ", ".join(self.names()) or "none installed"
        close = difflib.get_close_matches(name, [*self._specs, *self._aliases], n=1, cutoff=0.6)
        hint = f"; did you mean {self._aliases.get(close[0], close[0])!r}?" if close else ""
        raise UnknownComponentError(f"unknown {self.kind} {name!r}{hint} (available: {known})")

    def owner(self, name: str) -> str:
        """Name of the plugin that registered ``name``."""
        spec = self.get(name)
        return self._owner[spec.name]  # type: ignore[attr-defined]

    def names(self, pattern: str = "") -> list[str]:
        """Sorted names, filtered by a shell-style ``pattern`` (``"res*"``) when given."""
        names = sorted(self._specs)
        if pattern:
            names = [n for n in names if fnmatch.fnmatch(n, pattern)]
        return names

    def specs(self) -> list[S]:
        return [self._specs[n] for n in self.names()]

    def __contains__(self, name: object) -> bool:
        try:
            self.get(str(name))
        except UnknownComponentError:
            return False
        return True

    def __len__(self) -> int:
        return len(self._specs)
