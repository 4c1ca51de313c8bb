"""External calendars as feeds (organisation.yaml: `calendars[].url`): fetched from a
local HTTP server on 127.0.0.1 (a free port), the last good copy kept under the app home
and used, with a warning, when the feed fails; with no copy a located error, exit code 2."""

from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arshjul.cli import app
from arshjul.core.calendar_feeds import FeedCache
from arshjul.core.settings import get_settings
from models.definition import DefinitionError
from models.milestones import FeedUnavailable
from models.validation import load_definition

KOMMUN = Path(__file__).parents[1] / "fixtures" / "kommun"
ICS = (KOMMUN / "skr-tidplan.ics").read_bytes()
# A feed that answers gets all the time a loaded machine may need; the hanging one never
# answers until the test is over, so its short timeout always expires.
TIMEOUT = 20.0
HANG_TIMEOUT = 0.5


class FeedServer:
    """Serves `routes[path] = (status, body)`; the path "/hangs" answers only when the
    test is over, so a timeout is certain however loaded the machine is."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.release = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                if self.path == "/hangs":
                    server.release.wait(30)
                    return
                status, body = server.routes.get(self.path, (404, b"Not found"))
                self.send_response(status)
                if status in (301, 302):
                    self.send_header("Location", body.decode())
                self.send_header("Content-Type", "text/calendar" if body.startswith(b"BEGIN:") else "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    served = FeedServer()
    served.thread.start()
    yield served
    served.release.set()
    served.httpd.shutdown()
    served.httpd.server_close()
    served.thread.join(5)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Iterator[Path]:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("ARSHJUL_HOME", str(home))
    monkeypatch.setenv("ARSHJUL_CALENDAR_FEED_TIMEOUT", str(TIMEOUT))
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


def kommun_with_feed(tmp_path: Path, url: str) -> Path:
    folder = tmp_path / "kommun"
    shutil.copytree(KOMMUN, folder)
    (folder / "skr-tidplan.ics").unlink()  # the feed, not the file, must be what is read
    path = folder / "organisation.yaml"
    path.write_text(path.read_text().replace("file: skr-tidplan.ics", f"url: {url}"))
    return folder


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if needle in line)


def skatteunderlag_dates(definition) -> list[str]:
    return [m.date.isoformat() for m in definition.milestones["skatteunderlag"]]


def test_a_feed_is_fetched_and_its_milestones_read(server, home, tmp_path):
    server.routes["/skr.ics"] = (200, ICS)
    folder = kommun_with_feed(tmp_path, server.url("/skr.ics"))
    cache = FeedCache(home / "kalenderfloden", timeout=TIMEOUT)
    definition = load_definition(folder, check_cycles=False, feeds=cache)
    assert "2027-02-18" in skatteunderlag_dates(definition)
    assert cache.warnings == []
    assert cache.copy_path(server.url("/skr.ics")).read_bytes() == ICS


def test_a_feed_that_changes_is_read_anew_and_its_copy_replaced(server, home, tmp_path):
    url = server.url("/skr.ics")
    server.routes["/skr.ics"] = (200, ICS)
    folder = kommun_with_feed(tmp_path, url)
    cache = FeedCache(home / "kalenderfloden", timeout=TIMEOUT)
    assert "2027-02-18" in skatteunderlag_dates(load_definition(folder, check_cycles=False, feeds=cache))
    moved = ICS.replace(b"DTSTART;VALUE=DATE:20270218", b"DTSTART;VALUE=DATE:20270222")
    server.routes["/skr.ics"] = (200, moved)
    dates = skatteunderlag_dates(load_definition(folder, check_cycles=False, feeds=cache))
    assert "2027-02-22" in dates and "2027-02-18" not in dates
    assert cache.copy_path(url).read_bytes() == moved


FAILURES = [
    # (path the feed moves to, what the reason says)
    ("/missing.ics", "servern svarade 404"),
    ("/hangs", f"inget svar inom {HANG_TIMEOUT:g} s"),
    ("/page.html", "svaret är inte en iCalendar-fil (.ics)"),
    ("/error.ics", "servern svarade 500"),
]


@pytest.mark.parametrize(("path", "reason"), FAILURES)
def test_a_failing_feed_falls_back_on_its_last_good_copy_with_a_dated_warning(server, home, tmp_path, path, reason):
    server.routes["/skr.ics"] = (200, ICS)
    server.routes["/page.html"] = (200, b"<!doctype html><html><body>Kalendern har flyttat</body></html>")
    server.routes["/error.ics"] = (500, b"Internal error")
    cache = FeedCache(home / "kalenderfloden", timeout=TIMEOUT)
    good = cache(key="skr", url=server.url("/skr.ics"))
    # The same address now fails: the routes move, the address stays.
    server.routes["/skr.ics"] = server.routes.get(path, (404, b""))
    target = "/hangs" if path == "/hangs" else "/skr.ics"
    if path == "/hangs":  # a hanging server: copy the good copy to the hanging address's slot
        shutil.copy(good, cache.copy_path(server.url("/hangs")))
        cache.timeout = HANG_TIMEOUT
    folder = kommun_with_feed(tmp_path, server.url(target))
    definition = load_definition(folder, check_cycles=False, feeds=cache)
    assert "2027-02-18" in skatteunderlag_dates(definition)
    [warning] = cache.warnings
    assert reason in warning and "använder kopian hämtad 20" in warning and "'skr'" in warning


@pytest.mark.parametrize(("path", "reason"), FAILURES)
def test_a_failing_feed_without_a_copy_is_a_located_error(server, home, tmp_path, path, reason):
    server.routes["/page.html"] = (200, b"<!doctype html><html><body>Kalendern har flyttat</body></html>")
    server.routes["/error.ics"] = (500, b"Internal error")
    url = server.url(path)
    folder = kommun_with_feed(tmp_path, url)
    timeout = HANG_TIMEOUT if path == "/hangs" else TIMEOUT
    with pytest.raises(DefinitionError) as raised:
        load_definition(folder, check_cycles=False, feeds=FeedCache(home / "kalenderfloden", timeout=timeout))
    line = line_of(folder / "organisation.yaml", f"url: {url}")
    [issue] = [str(issue) for issue in raised.value.issues]
    assert issue.startswith(f"organisation.yaml:{line}: calendars[0].url: {url}: flödet kunde inte hämtas ({reason})")
    assert "det finns ingen sparad kopia" in issue


def test_cli_without_a_copy_exits_2_with_the_located_error(server, home, tmp_path):
    url = server.url("/missing.ics")
    folder = kommun_with_feed(tmp_path, url)
    result = CliRunner().invoke(app, ["validate", str(folder), "--cycles", "2027"])
    assert result.exit_code == 2, result.output
    line = line_of(folder / "organisation.yaml", f"url: {url}")
    assert f"organisation.yaml:{line}: calendars[0].url: {url}: flödet kunde inte hämtas (servern svarade 404)" in (
        " ".join(result.output.split())
    )
    assert "Traceback" not in result.output


def test_cli_offline_plans_from_the_copy_and_warns_in_swedish(server, home, tmp_path):
    server.routes["/skr.ics"] = (200, ICS)
    url = server.url("/skr.ics")
    folder = kommun_with_feed(tmp_path, url)
    runner = CliRunner()
    online = runner.invoke(app, ["plan", "2027", "--org", str(folder), "--format", "json"])
    assert online.exit_code == 0, online.output
    del server.routes["/skr.ics"]
    offline = runner.invoke(app, ["plan", "2027", "--org", str(folder), "--format", "json"])
    assert offline.exit_code == 0, offline.output
    assert "Varning: kalendern 'skr'" in offline.output and "servern svarade 404" in offline.output
    assert online.stdout == offline.stdout  # the same plan offline as online


def test_no_reader_no_feed(tmp_path):
    folder = kommun_with_feed(tmp_path, "http://127.0.0.1:9/skr.ics")
    with pytest.raises(DefinitionError) as raised:
        load_definition(folder, check_cycles=False)
    assert "flöden över nätet läses inte i detta sammanhang" in str(raised.value)


@pytest.mark.parametrize(
    ("replacement", "message"),
    [
        ("url: file:///etc/passwd", "måste vara en webbadress som börjar med http:// eller https://"),
        ("url: ftp://example.se/skr.ics", "måste vara en webbadress som börjar med http:// eller https://"),
        ("url: https://exa mple.se/skr.ics", "en webbadress får inte innehålla blanksteg eller styrtecken"),
        ("file: skr-tidplan.ics\n    url: https://example.se/skr.ics", "ange antingen file"),
    ],
)
def test_the_feed_address_is_checked(tmp_path, replacement, message):
    folder = tmp_path / "kommun"
    shutil.copytree(KOMMUN, folder)
    path = folder / "organisation.yaml"
    path.write_text(path.read_text().replace("file: skr-tidplan.ics", replacement))
    with pytest.raises(DefinitionError) as raised:
        load_definition(folder, check_cycles=False)
    assert message in str(raised.value)


def test_a_redirect_is_followed_to_http_only(server, home):
    server.routes["/skr.ics"] = (200, ICS)
    server.routes["/moved.ics"] = (302, server.url("/skr.ics").encode())
    server.routes["/to-file.ics"] = (302, b"file:///etc/passwd")
    cache = FeedCache(home / "kalenderfloden", timeout=TIMEOUT)
    assert cache(key="skr", url=server.url("/moved.ics")).read_bytes() == ICS
    with pytest.raises(FeedUnavailable, match="servern svarade 302"):
        cache(key="skr", url=server.url("/to-file.ics"))
    assert not cache.copy_path(server.url("/to-file.ics")).exists()
