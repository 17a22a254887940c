"""The review server's guard, over real HTTP: tokens, writes, origins, hosts, files, interfaces.

Only the films named on the command line are served, by id; every request needs the token;
writes need the page's own token and a same-origin request; the Host header must be the
server's own; nothing listens beyond 127.0.0.1 unless asked, and then it warns.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import warnings

import pytest

from review_helpers import serving, write_film, write_result
from scenedet.review.films import find_films
from scenedet.review.runner import ExposedWarning, ReviewServer
from scenedet.review.session import open_review


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("review-security")
    film = write_film(root / "films" / "a.mp4", seconds=3)
    (root / "secret.txt").write_text("not for the browser")
    return root, film, write_result(root / "a.json", film, seconds=3)


@pytest.fixture()
def server(library, tmp_path):
    """A server of the library, writing tmp_path/labels.csv."""
    root, film, result = library
    session = open_review(root / "films", [result], annotations=tmp_path / "labels.csv")
    with serving(session) as srv:
        yield srv


def _request(server, method: str, path: str, *, token: str | None = "", body: bytes | None = None,
             headers: dict | None = None) -> tuple[int, bytes, dict]:
    token = server.guard.token if token == "" else token
    sep = "&" if "?" in path else "?"
    target = path if token is None else f"{path}{sep}token={token}"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read(), dict(resp.getheaders())
    finally:
        conn.close()


def _write_headers(server, **changes) -> dict:
    origin = f"http://127.0.0.1:{server.port}"
    headers = {"X-Scenedet-Write": server.guard.write_token, "Origin": origin,
               "Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"}
    headers.update(changes)
    return {k: v for k, v in headers.items() if v is not None}


SAVE = json.dumps({"version": 0, "segments": [{"start": 0.5, "end": 1.5, "label": 1}]}).encode()
READS = ["/", "/static/review.js", "/static/review.css", "/api/overview", "/api/film/0",
         "/media/0", "/still/0/1"]


@pytest.mark.parametrize("path", READS)
def test_every_read_needs_the_token(server, path):
    assert _request(server, "GET", path)[0] == 200
    for token in (None, "wrong", server.guard.write_token, server.guard.token[:-1]):
        status, body, _ = _request(server, "GET", path, token=token)
        assert status == 403 and b"token" in body, (path, token)


def test_the_token_may_come_as_a_header_not_as_a_cookie(server):
    headers = {"X-Scenedet-Token": server.guard.token}
    assert _request(server, "GET", "/api/overview", token=None, headers=headers)[0] == 200
    cookie = {"Cookie": f"token={server.guard.token}"}
    assert _request(server, "GET", "/api/overview", token=None, headers=cookie)[0] == 403


@pytest.mark.parametrize("path", [
    "/media/../../secret.txt", "/media/%2e%2e%2fsecret.txt", "/media/..%2f..%2fsecret.txt",
    "/media/1", "/media/-1", "/media/a.mp4", "/static/../app.py", "/static/review.html",
    "/static/%2e%2e/store.py", "/still/0/99", "/still/0/-1", "/api/film/7", "/films/a.mp4",
    "/a.mp4", "/secret.txt", "/etc/passwd"])
def test_nothing_but_the_named_films_and_the_page_is_served(server, path):
    status, body, _ = _request(server, "GET", path)
    assert status in (404, 405), (path, status)
    assert b"not for the browser" not in body


def test_a_symlink_out_of_the_folder_is_not_a_film(tmp_path, library):
    _, film, _ = library
    folder = tmp_path / "films"
    folder.mkdir()
    os.symlink(film, folder / "outside.mp4")  # a link that leaves the folder
    os.symlink(tmp_path / "films", folder / "loop")  # a folder link: never followed
    write_film(folder / "inside.mp4", seconds=1)
    os.symlink(folder / "inside.mp4", folder / "again.mp4")  # a link that stays inside
    _, films = find_films(folder)
    assert [key for _, key in films] == ["again.mp4", "inside.mp4"]


def test_a_write_needs_the_pages_own_token_and_origin(server, tmp_path):
    path = "/api/film/0/annotations"
    refused = [_write_headers(server, **{"X-Scenedet-Write": None}),
               _write_headers(server, **{"X-Scenedet-Write": server.guard.token}),
               _write_headers(server, Origin=None),
               _write_headers(server, Origin="http://evil.example"),
               _write_headers(server, Origin=f"http://127.0.0.1:{server.port + 1}"),
               _write_headers(server, **{"Sec-Fetch-Site": "cross-site"}),
               _write_headers(server, **{"Sec-Fetch-Site": "same-site"})]
    for headers in refused:
        status, body, _ = _request(server, "PUT", path, body=SAVE, headers=headers)
        assert status == 403, headers
    assert _request(server, "PUT", path, token=None, body=SAVE, headers=_write_headers(server))[0] == 403
    assert not (tmp_path / "labels.csv").exists()  # nothing was written
    status, body, _ = _request(server, "PUT", path, body=SAVE, headers=_write_headers(server))
    assert status == 200 and json.loads(body)["version"] == 1
    assert (tmp_path / "labels.csv").read_text() == "video,start,end,label\na.mp4,0.5,1.5,1\n"


def test_a_request_for_another_host_name_is_refused(server):
    """DNS rebinding: a hostile name resolving to 127.0.0.1 sends its own name as Host."""
    for host in ("evil.example", f"evil.example:{server.port}", "127.0.0.1", "localhost:1"):
        status, _, _ = _request(server, "GET", "/api/overview", headers={"Host": host})
        assert status == 403, host
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}"):
        assert _request(server, "GET", "/api/overview", headers={"Host": host})[0] == 200


def test_bad_saves_are_one_line_errors_and_change_nothing(server, tmp_path):
    path = "/api/film/0/annotations"
    for body in (b"not json", b"{}", json.dumps({"version": 0, "segments": [{"start": 2, "end": 1}]}).encode(),
                 json.dumps({"version": 0, "segments": [{"start": 0, "end": 2}, {"start": 1, "end": 2.5}]}).encode(),
                 json.dumps({"version": 0, "segments": [{"start": "nan", "end": 2}]}).encode(),
                 json.dumps({"version": 0, "segments": "x"}).encode()):
        status, answer, _ = _request(server, "PUT", path, body=body, headers=_write_headers(server))
        assert status == 400, body
        assert "\n" not in json.loads(answer)["error"]
    assert not (tmp_path / "labels.csv").exists()


def test_the_page_forbids_inline_script_and_other_sites(server):
    status, body, headers = _request(server, "GET", "/")
    csp = {k.lower(): v for k, v in headers.items()}["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert b"<script>" not in body and b"http" not in body.replace(b"http-equiv", b"")


def test_media_answers_range_requests(server, library):
    _, film, _ = library
    size = film.stat().st_size
    status, body, headers = _request(server, "GET", "/media/0", headers={"Range": "bytes=100-199"})
    assert status == 206 and len(body) == 100
    assert headers["content-range"] == f"bytes 100-199/{size}"
    assert body == film.read_bytes()[100:200]


def test_it_listens_on_loopback_only_unless_asked_and_then_it_warns(library):
    root, film, result = library
    session = open_review(film, annotations=root / "x.csv")
    server = ReviewServer(session)
    try:
        assert server.socket.getsockname()[0] == "127.0.0.1"
        assert server.url.startswith(f"http://127.0.0.1:{server.port}/?token=")
    finally:
        server.socket.close()
    with pytest.warns(ExposedWarning, match="other machines"):
        exposed = ReviewServer(session, host="0.0.0.0")
    exposed.socket.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ReviewServer(session, host="localhost").socket.close()


def test_two_servers_get_two_free_ports_and_tokens(library):
    root, film, _ = library
    session = open_review(film, annotations=root / "y.csv")
    with serving(session) as one, serving(session) as two:
        assert one.port != two.port and one.guard.token != two.guard.token
        with socket.create_connection(("127.0.0.1", one.port), timeout=5):
            pass
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", one.port), timeout=2)


def test_a_fault_in_the_server_is_a_500_with_one_line_and_it_keeps_serving(library, tmp_path,
                                                                           capfd):
    root, film, result = library
    session = open_review(film, [result], annotations=tmp_path / "l.csv")

    def broken(film_id):
        raise RuntimeError("a bug\nwith a second line")

    session.film_state = broken
    with serving(session) as srv:
        status, body, _ = _request(srv, "GET", "/api/film/0")
        assert status == 500
        assert json.loads(body) == {"error": "internal error: RuntimeError: a bug"}
        assert _request(srv, "GET", "/api/overview")[0] == 200
    err = capfd.readouterr().err
    assert "internal error on /api/film/0: RuntimeError: a bug" in err
    assert "Traceback" not in err


def test_an_exposed_server_still_wants_the_token_and_its_own_origin(library, tmp_path):
    root, film, result = library
    session = open_review(film, [result], annotations=tmp_path / "l.csv")
    with pytest.warns(ExposedWarning):
        server = ReviewServer(session, host="0.0.0.0")
    with server:
        here = f"192.0.2.7:{server.port}"  # the machine's address, as another machine sees it
        headers = _write_headers(server, Host=here, Origin=f"http://{here}")
        assert _request(server, "GET", "/api/overview", headers={"Host": here})[0] == 200
        assert _request(server, "GET", "/api/overview", token=None, headers={"Host": here})[0] == 403
        for origin in ("http://evil.example", f"http://127.0.0.1:{server.port}", None):
            bad = _write_headers(server, Host=here, Origin=origin)
            assert _request(server, "PUT", "/api/film/0/annotations", body=SAVE, headers=bad)[0] == 403
        assert _request(server, "PUT", "/api/film/0/annotations", body=SAVE, headers=headers)[0] == 200
