"""The plugin host, for the code that runs it: the command line, tests, embedding applications.

The public face of the underscored host modules beside this file (their rules are in
docs/plugin-host.md): the process-wide host and how to replace it, what it knows about each
plugin, and the problems it recorded. Looking components up by name is
:mod:`scenedet.plugin.registry`'s; plugins themselves import only :mod:`scenedet.plugin`.

* :func:`get_host` loads the installed plugins on first use; :func:`reset_host` forgets them (or
  installs a host of the caller's);
* ``host.report()`` is what ``scenedet plugins`` shows, ``host.problems()`` each
  ``(PluginInfo, Problem)`` pair, ``host.plugin_commands(builtin)`` the plugins' commands;
* :func:`normalize` spells a distribution name the one way (``Scenedet_Shots`` is ``scenedet-shots``).
"""

from __future__ import annotations

from scenedet.plugin._host import PluginHost, get_host, reset_host
from scenedet.plugin._identity import PluginInfo, normalize
from scenedet.plugin._problems import Problem

__all__ = ["PluginHost", "get_host", "reset_host", "PluginInfo", "Problem", "normalize"]
