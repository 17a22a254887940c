"""The review's web application (Starlette): one page, its assets, the films, a small JSON API.

Routes (every one behind :class:`~scenedet.review.security.Guard`):

* ``GET /`` the page; ``GET /static/NAME`` its script and style (package data, a fixed list);
* ``GET /api/overview`` the films, how much of each is reviewed, the suggested stretches;
* ``GET /api/film/ID`` one film's results, shot cuts and annotations (with their version);
* ``PUT /api/film/ID/annotations`` ``{"version", "segments"}``: save; 409 with a message when
  the version is stale, 400 for a bad segment;
* ``GET /media/ID`` the film itself, with HTTP range requests (so the player seeks at once in a
  long film); ``GET /still/ID/SECOND`` one still (JPEG) per second, for films the browser
  cannot play.

Errors are JSON ``{"error": "one line"}``; a fault in the server's own code is a 500 with one
line, never a hung request.
"""

from __future__ import annotations

import functools
import html
import json
import mimetypes
import sys
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from scenedet.errors import ScenedetError, UsageError
from scenedet.review.security import Guard
from scenedet.review.session import ReviewSession
from scenedet.review.store import StaleVersion

#: The page's assets, the only files served from the package.
ASSETS = {"review.js": "text/javascript", "review.css": "text/css"}
#: The page may load only its own assets and media; no inline script, no other site.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "media-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")
#: Largest save body accepted (a film's annotations are a few kB).
MAX_BODY = 4 * 1024 * 1024


@functools.cache
def asset(name: str) -> str:
    return resources.files("scenedet.review").joinpath("static", name).read_text("utf-8")


def _first_line(exc: BaseException) -> str:
    return (f"{type(exc).__name__}: {exc}".splitlines() or [type(exc).__name__])[0]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class _GuardMiddleware:
    """Refuses, with 403 and one line, every request :class:`Guard` refuses."""

    def __init__(self, app: Any, guard: Guard) -> None:
        self.app, self.guard = app, guard

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope)
        why = self.guard.refuse(request.method, request.headers, request.query_params)
        if why is not None:
            return await _error(403, why)(scope, receive, send)
        started = False

        async def tracked(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:  # a fault of the server's own: one line here, a 500 there
            print(f"scenedet review: internal error on {request.url.path}: {_first_line(exc)}",
                  file=sys.stderr)
            if not started:
                await _error(500, f"internal error: {_first_line(exc)}")(scope, receive, send)


def _page(guard: Guard) -> str:
    token = html.escape(guard.token, quote=True)
    # JSON in a data block (never run): only "<" could end the block early
    config = json.dumps({"token": guard.token, "write": guard.write_token}).replace("<", "\\u003c")
    return asset("review.html").replace("{{token}}", token).replace("{{config}}", config)


def build_app(session: ReviewSession, guard: Guard) -> Any:
    """The ASGI application serving ``session`` behind ``guard``."""

    async def page(request: Request) -> Response:
        return Response(_page(guard), media_type="text/html",
                        headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store",
                                 "Referrer-Policy": "no-referrer"})

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            return _error(404, "no such asset")
        return Response(asset(name), media_type=ASSETS[name], headers={"Cache-Control": "no-store"})

    async def overview(request: Request) -> Response:
        return JSONResponse(session.overview())

    def _film_id(request: Request) -> str:
        film_id = request.path_params["id"]
        session.film(film_id)  # KeyError: 404
        return film_id

    async def film(request: Request) -> Response:
        return JSONResponse(session.film_state(_film_id(request)))

    async def save(request: Request) -> Response:
        film_id = _film_id(request)
        body = await request.body()
        if len(body) > MAX_BODY:
            return _error(413, "too large")
        try:
            data = json.loads(body)
            segments, version = data["segments"], int(data["version"])
            if not isinstance(segments, list):
                raise TypeError("segments must be a list")
        except (ValueError, KeyError, TypeError) as exc:
            return _error(400, f"bad request: {exc}")
        try:
            return JSONResponse(session.save(film_id, segments, version))
        except StaleVersion as exc:
            return JSONResponse({"error": str(exc), "version": exc.current}, status_code=409)
        except UsageError as exc:
            return _error(400, str(exc))

    async def media(request: Request) -> Response:
        item = session.film(_film_id(request))
        kind = mimetypes.guess_type(item.path.name)[0] or "application/octet-stream"
        return FileResponse(item.path, media_type=kind)  # answers Range requests

    async def still(request: Request) -> Response:
        item = session.film(_film_id(request))
        second = int(request.path_params["second"])
        if not 0 <= second < max(1, int(item.duration + 0.999)):
            return _error(404, "no such second")
        from starlette.concurrency import run_in_threadpool

        data = await run_in_threadpool(_still, str(item.path), second)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})

    routes = [Route("/", page), Route("/static/{name}", static),
              Route("/api/overview", overview), Route("/api/film/{id}", film),
              Route("/api/film/{id}/annotations", save, methods=["PUT"]),
              Route("/media/{id}", media), Route("/still/{id}/{second:int}", still)]
    handlers = {KeyError: lambda r, e: _error(404, "no such film"),
                ScenedetError: lambda r, e: _error(500, str(e)),
                Exception: lambda r, e: _error(500, f"internal error: {_first_line(e)}")}
    app = Starlette(routes=routes, exception_handlers=handlers)
    return _GuardMiddleware(app, guard)


@functools.lru_cache(maxsize=256)
def _still(path: str, second: int) -> bytes:
    """The frame shown at the middle of ``second``, 240 pixels wide, as JPEG."""
    from scenedet.outputs.stills import encode_image, grab_frames

    return encode_image(grab_frames(path, [second + 0.5], width=240)[0], "jpg", quality=80)
