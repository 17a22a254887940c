"""``scenedet review``: correct detected scenes and label films in the browser."""

from __future__ import annotations

from pathlib import Path

import click

from scenedet.cli import cli


@cli.command("review")
@click.argument("source", metavar="FILM|FOLDER", type=click.Path(path_type=Path))
@click.argument("results", nargs=-1, metavar="[RESULT.json ...]", type=click.Path(path_type=Path))
@click.option("--annotations", "-a", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Annotations file to edit, CSV or JSON (default: annotations.csv in the folder, "
                   "or beside the film). Created if missing.")
@click.option("--suggested", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Walk the stretches `scenedet suggest` wrote to FILE, in their order.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port to listen on (0: a free one).")
@click.option("--host", default="127.0.0.1", show_default=True, metavar="ADDR",
              help="Address to listen on; anything but this machine's own warns: other machines "
                   "can then reach the review (still behind its token).")
@click.option("--no-browser", is_flag=True, help="Print the address only; do not open a browser.")
def review_command(source: Path, results: tuple[Path, ...], annotations: Path | None,
                   suggested: Path | None, port: int, host: str, no_browser: bool) -> None:
    """Review films in the browser: correct detected scenes, label your own.

    \b
    Serves one page on this machine, on a free port, behind a random token in the address it
    prints (and opens): the film in a player, a zoomable timeline with each RESULT's scores and
    segments and the shot cuts of a shot result, and the annotations being edited, saved (by
    itself, a second after each edit, atomically) to the file `scenedet train` reads. Ctrl-C
    stops it. Keys and the whole loop: docs/review.md.

    \b
    Examples:
      scenedet review films/ results/*.json
      scenedet review film.mp4 film.json --annotations labels.csv
      scenedet review films/ --suggested suggested.json
    """
    from scenedet.review.runner import ReviewServer
    from scenedet.review.session import open_review

    session = open_review(source, results, annotations=annotations, suggested=suggested)
    with ReviewServer(session, host=host, port=port) as server:
        click.echo(f"Reviewing {len(session.films)} film(s), saving to {session.store.path}")
        click.echo(f"Open {server.url}  (Ctrl-C to stop)")
        if not no_browser:
            _open_browser(server.url)
        server.wait()


def _open_browser(url: str) -> None:
    """Open ``url`` in a graphical browser, if there is one: on Linux without a display,
    Python's ``webbrowser`` would start a text browser (lynx, w3m) in this terminal instead."""
    import os
    import sys
    import webbrowser

    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        return
    try:
        webbrowser.open(url)
    except Exception:  # no browser here: the address is printed anyway
        pass
