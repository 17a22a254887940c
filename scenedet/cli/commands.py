"""Imports each built-in command module so that its ``@cli.command`` runs."""

from __future__ import annotations

from importlib import import_module

_MODULES = ("run_cmd", "segment_cmd", "features_cmd", "plugins_cmd", "synth_cmd", "train_cmd",
            "evaluate_cmd", "demo_cmd", "batch_cmd", "export_cmd", "explain_cmd", "review_cmd",
            "suggest_cmd")

for _name in _MODULES:
    import_module(f".{_name}", __package__)
