"""Imports each built-in command module so that its ``@cli.command`` runs."""

from __future__ import annotations

from importlib import import_module

for _name in ("plugins_cmd",):
    import_module(f".{_name}", __package__)
