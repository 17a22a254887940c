"""Who may talk to a review server, and what they may ask: tokens, hosts, origins.

A review serves films and writes a file on the user's machine, so a web page open in another tab
must not be able to read either, nor change the file:

* **every request needs the token** that ``scenedet review`` prints in the page's address (the
  ``token`` query parameter, or an ``X-Scenedet-Token`` header); without it the answer is 403;
* **writes need the page's own token**, a second token that only the served page holds (it is in
  the page, never in a URL), sent as an ``X-Scenedet-Write`` header, and a **same-origin**
  request: the ``Origin`` header must be the server's own (browsers set it and pages cannot fake
  it; a custom header also forces a CORS preflight, which this server never grants);
* the **Host** header must name the server as bound (``127.0.0.1:PORT`` or ``localhost:PORT``),
  which defeats DNS rebinding (a hostile name resolving to 127.0.0.1);
* files are looked up by id in the table of films named on the command line
  (:mod:`scenedet.review.films`), and page assets in a fixed list: no path from a request ever
  reaches the file system.

Tokens are compared in constant time (:func:`secrets.compare_digest`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

import attrs

#: Methods that change nothing; every other one is a write.
SAFE_METHODS = frozenset({"GET", "HEAD"})
#: Addresses that only this machine reaches.
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
#: Addresses that listen on every interface: the Host header can then be any of the machine's.
WILDCARD = frozenset({"0.0.0.0", "::"})


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _same(given: str | None, wanted: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), wanted.encode())


@attrs.frozen
class Guard:
    """The checks of one server: its tokens and the host names it answers to."""

    host: str
    port: int
    token: str = attrs.field(factory=new_token)
    write_token: str = attrs.field(factory=new_token)

    @property
    def hosts(self) -> frozenset[str]:
        names = {self.host, "127.0.0.1", "localhost"} if self.host in LOOPBACK else {self.host}
        shown = {f"[{n}]" if ":" in n else n for n in names}
        return frozenset(f"{n}:{self.port}" for n in shown)

    @property
    def origins(self) -> frozenset[str]:
        return frozenset(f"http://{h}" for h in self.hosts)

    def refuse(self, method: str, headers: Mapping[str, str], query: Mapping[str, str]
               ) -> str | None:
        """Why a request is refused (one line), or ``None`` when it may go on."""
        if self.host not in WILDCARD and headers.get("host", "") not in self.hosts:
            return "unknown host: open the address scenedet review printed"
        if not (_same(query.get("token"), self.token)
                or _same(headers.get("x-scenedet-token"), self.token)):
            return "missing or wrong token: open the address scenedet review printed"
        if method.upper() in SAFE_METHODS:
            return None
        if not _same(headers.get("x-scenedet-write"), self.write_token):
            return "writes come from the review page only"
        host = headers.get("host", "")
        if headers.get("origin") != f"http://{host}" or (
                self.host not in WILDCARD and headers.get("origin") not in self.origins):
            return "writes must come from the review page's own origin"
        site = headers.get("sec-fetch-site")
        if site is not None and site != "same-origin":
            return "writes must come from the review page's own origin"
        return None
