"""Who a plugin is: its distribution's tier, its rank, and whether the environment selects it.

The rank decides who keeps a component name when two plugins register the same one (lower
wins), so it is fixed by what a plugin *is* (core, reference set, third party, added in-process)
and not by the order the plugins happened to load in. :class:`PluginInfo` is what
``scenedet plugins`` shows for each plugin.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import attrs

from scenedet.plugin._problems import Problem

ENTRY_POINT_GROUP = "scenedet"
CORE_DISTRIBUTION = "scenedet"
REFERENCE_DISTRIBUTIONS = frozenset({"scenedet-kissing"})
ALLOW_ENV, OLD_ALLOW_ENV, DENY_ENV = "SCENEDET_PLUGINS", "SCENEDET_LOAD_PLUGINS", "SCENEDET_DISABLE_PLUGINS"
#: rank tiers: who wins a name clash (lower wins)
CORE, REFERENCE, THIRD_PARTY, IN_PROCESS = 0, 1, 2, 3
TIER_NAMES = {CORE: "core", REFERENCE: "reference set", THIRD_PARTY: "third party",
              IN_PROCESS: "added in-process"}


def normalize(name: str) -> str:
    """A distribution name as packaging compares it: ``Scenedet_Kissing`` -> ``scenedet-kissing``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def tier_of(distribution: str | None) -> int:
    """The rank tier of a plugin from ``distribution`` (``None``: added in-process)."""
    if distribution is None:
        return IN_PROCESS
    dist = normalize(distribution)
    return CORE if dist == CORE_DISTRIBUTION else REFERENCE if dist in REFERENCE_DISTRIBUTIONS else THIRD_PARTY


def _names(value: str | None) -> set[str] | None:
    return None if value is None else {normalize(n.strip()) for n in value.split(",") if n.strip()}


def plugin_selection(environ: Mapping[str, str] = os.environ) -> tuple[set[str] | None, set[str]]:
    """``(allowed or None for all, denied)`` from the environment, names normalised."""
    allowed = environ.get(ALLOW_ENV, environ.get(OLD_ALLOW_ENV))
    return _names(allowed), _names(environ.get(DENY_ENV)) or set()


def why_not_selected(keys: set[str], allowed: set[str] | None, denied: set[str]) -> str | None:
    """Why a plugin known by ``keys`` (entry-point and distribution names) is left out, or None."""
    if keys & denied:
        return f"disabled by {DENY_ENV}"
    if allowed is not None and not keys & allowed:
        return f"not in {ALLOW_ENV}"
    return None


@attrs.define
class PluginInfo:
    """One plugin, as ``scenedet plugins`` shows it: what it registered and what went wrong."""

    name: str
    version: str | None
    module: str
    distribution: str | None = None
    rank: tuple[Any, ...] = ()
    hooks: list[str] = attrs.Factory(list)
    components: dict[str, list[str]] = attrs.Factory(dict)
    problems: list[Problem] = attrs.Factory(list)

    @property
    def tier(self) -> str:
        return TIER_NAMES[self.rank[0]] if self.rank else TIER_NAMES[IN_PROCESS]

    @property
    def loaded(self) -> bool:
        return not any(p.fatal for p in self.problems)

    @property
    def status(self) -> str:
        return "failed" if not self.loaded else "problems" if self.problems else "ok"
