"""A registry of one kind of component, timm-style: look up by name or alias, list with a filter.

Each name (and alias) has one owner. When two plugins claim a name, the one of higher
precedence keeps it, whatever order they were added in: the host gives every plugin a *rank*
(core, then the reference set, then third parties in a documented order) and the lower rank wins.
"""

from __future__ import annotations

import difflib
import fnmatch
from typing import Any, Generic, TypeVar

from scenedet.errors import UnknownComponentError

S = TypeVar("S")


class NameClash(ValueError):
    """A component refused because a plugin of higher precedence owns one of its names."""

    def __init__(self, kind: str, key: str, plugin: str, owner: str) -> None:
        super().__init__(f"{kind} {key!r} from plugin {plugin!r} is already registered by {owner!r}")
        self.kind, self.key, self.plugin, self.owner = kind, key, plugin, owner


class Registry(Generic[S]):
    """Specs of one kind (``"backbone"``, ...) keyed by name, with aliases and owning plugin."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._specs: dict[str, S] = {}
        self._aliases: dict[str, str] = {}
        self._owner: dict[str, str] = {}
        self._rank: dict[str, Any] = {}

    def add(self, spec: S, plugin: str, rank: Any = ()) -> list[tuple[S, str]]:
        """Add ``spec`` for ``plugin``; return the ``(spec, owner)`` pairs it displaced.

        A name or alias already taken by a plugin of equal or better (lower) ``rank`` raises
        :class:`NameClash` naming both plugins and changes nothing. Taken only by plugins of worse
        rank, those specs are removed whole (name and aliases) and returned, so that the outcome
        does not depend on the order in which plugins were added.
        """
        name = spec.name  # type: ignore[attr-defined]
        keys = (name, *spec.aliases)  # type: ignore[attr-defined]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{self.kind} {name!r} from plugin {plugin!r} repeats a name in its aliases")
        holders: dict[str, str] = {}  # displaced spec name -> the key that collided
        for key in keys:
            holder = self._aliases.get(key, key)
            if holder in self._specs:
                if not rank < self._rank[holder]:
                    raise NameClash(self.kind, key, plugin, self._owner[holder])
                holders.setdefault(holder, key)
        displaced = [(self._specs[h], self._owner[h]) for h in holders]
        for holder in holders:
            self._remove(holder)
        self._specs[name] = spec
        self._owner[name] = plugin
        self._rank[name] = rank
        for alias in spec.aliases:  # type: ignore[attr-defined]
            self._aliases[alias] = name
        return displaced

    def _remove(self, name: str) -> None:
        del self._specs[name], self._owner[name], self._rank[name]
        for alias in [a for a, target in self._aliases.items() if target == name]:
            del self._aliases[alias]

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
        raise UnknownComponentError(f"unknown {self.kind} {name!r}{self.hint(name)} (available: {known})")

    def suggest(self, name: str) -> str | None:
        """The registered name closest to ``name`` (or to one of its aliases), or ``None``."""
        close = difflib.get_close_matches(name, [*self._specs, *self._aliases], n=1, cutoff=0.6)
        return self._aliases.get(close[0], close[0]) if close else None

    def hint(self, name: str) -> str:
        """``"; did you mean 'shots'?"`` or ``""``."""
        near = self.suggest(name)
        return f"; did you mean {near!r}?" if near else ""

    def keys(self) -> list[str]:
        """Every name and alias, sorted."""
        return sorted([*self._specs, *self._aliases])

    def rank(self, name: str) -> Any:
        """The rank of the plugin that registered ``name`` (lower wins a clash)."""
        return self._rank[self.get(name).name]  # type: ignore[attr-defined]

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
