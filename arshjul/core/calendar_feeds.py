"""External calendars over the network (organisation.yaml: `calendars[].url`): fetched
with a short timeout, and the last good copy kept under the app home, so that `plan` and
`validate` give the same answer offline as they did online.

- A feed that answers with iCalendar replaces the copy (written atomically).
- A feed that does not answer, answers with an error status or with something that is not
  iCalendar leaves the copy as it was: the copy is used and a Swedish warning says how
  old it is.
- With no copy, it is a located error of organisation.yaml (`models.milestones`).

Only http and https, also after redirects. The models read the copy; the network is
touched only here."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import icalendar

from models.milestones import MAX_CALENDAR_BYTES, FeedUnavailable

CACHE_FOLDER = "kalenderfloden"
USER_AGENT = "arshjul-kalenderflode/1"


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http and https addresses only (never file: or ftp:)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlsplit(newurl).scheme not in ("http", "https"):
            raise urllib.error.HTTPError(newurl, code, "omdirigering till en adress som inte är http(s)", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HttpOnlyRedirects())


def fetch_feed(url: str, timeout: float) -> bytes:
    """The feed's body if it is iCalendar; raises FeedUnavailable with the reason."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "text/calendar"})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            body = response.read(MAX_CALENDAR_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise FeedUnavailable(f"servern svarade {exc.code}") from None
    except TimeoutError:
        raise FeedUnavailable(f"inget svar inom {timeout:g} s") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise FeedUnavailable(f"inget svar inom {timeout:g} s") from None
        raise FeedUnavailable(f"går inte att nå ({str(reason)[:200]})") from None
    if len(body) > MAX_CALENDAR_BYTES:
        raise FeedUnavailable(f"svaret är större än {MAX_CALENDAR_BYTES // 1_000_000} MB")
    try:
        calendar = icalendar.Calendar.from_ical(body)
    except (ValueError, KeyError, IndexError, TypeError):
        raise FeedUnavailable("svaret är inte en iCalendar-fil (.ics)") from None
    if getattr(calendar, "name", "") != "VCALENDAR":
        raise FeedUnavailable("svaret är inte en iCalendar-fil (.ics)")
    return body


class FeedCache:
    """A `models.milestones.FeedReader`: fetches each feed and keeps its last good copy
    in `folder`; collects a Swedish warning for every feed read from an old copy."""

    def __init__(self, folder: Path, *, timeout: float) -> None:
        self.folder = folder
        self.timeout = timeout
        self.warnings: list[str] = []

    def copy_path(self, url: str) -> Path:
        return self.folder / f"{hashlib.sha256(url.encode('utf-8')).hexdigest()[:24]}.ics"

    def __call__(self, key: str, url: str) -> Path:
        copy = self.copy_path(url)
        try:
            body = fetch_feed(url, self.timeout)
        except FeedUnavailable as exc:
            if not copy.is_file():
                raise FeedUnavailable(f"flödet kunde inte hämtas ({exc}) och det finns ingen sparad kopia") from None
            fetched = dt.datetime.fromtimestamp(copy.stat().st_mtime, dt.UTC)
            self.warnings.append(
                f"kalendern '{key}' ({url}) kunde inte hämtas ({exc}); "
                f"använder kopian hämtad {fetched:%Y-%m-%d %H:%M} UTC"
            )
            return copy
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".part")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(body)
            os.replace(temporary, copy)
        except OSError:
            Path(temporary).unlink(missing_ok=True)
            raise FeedUnavailable(f"kopian kunde inte sparas i {self.folder}") from None
        return copy


def feed_cache() -> FeedCache:
    """The feed cache under the app home, with the configured timeout."""
    from arshjul.core.settings import get_settings

    settings = get_settings()
    return FeedCache(settings.home / CACHE_FOLDER, timeout=settings.calendar_feed_timeout)
