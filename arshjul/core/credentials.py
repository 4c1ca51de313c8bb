"""The embedded Prefect server's sign-in: Prefect's own basic auth, "user:password",
from `ARSHJUL_PREFECT_AUTH_STRING` or generated once under home (`prefect-inloggning`,
readable by its owner only). The start banner names the file; the regionstab's pages of
the web app ask for the same sign-in."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from arshjul.core.private_files import write_once_private
from arshjul.core.settings import Settings

LOGIN_FILE = "prefect-inloggning"
LOGIN_USER = "regionstab"


def login_file(settings: Settings) -> Path:
    return settings.home / LOGIN_FILE


def prefect_auth_string(settings: Settings, *, create: bool = True) -> str | None:
    """The sign-in as "user:password", or None when it is switched off. The server's
    start creates it (`create`); a client only reads it: a command that then fails on
    its input must leave the home as it was, and without the file no embedded server
    has been started with it."""
    if not settings.prefect_auth:
        return None
    if settings.prefect_auth_string:
        return settings.prefect_auth_string
    path = login_file(settings)
    if not path.exists():
        if not create:
            return None
        write_once_private(path, f"{LOGIN_USER}:{secrets.token_urlsafe(18)}\n".encode())
    return path.read_text(encoding="utf-8").strip()


def use_prefect_sign_in(settings: Settings) -> str | None:
    """For a command that starts the embedded server, once its input is checked: the
    sign-in (created on the first start) for this process's Prefect clients and for the
    processes it starts. Prefect reads its settings when it is imported, so this must
    come first."""
    auth = prefect_auth_string(settings)
    if auth and os.environ.get("PREFECT_API_AUTH_STRING") is None:
        if "prefect" in sys.modules:
            raise RuntimeError("the Prefect sign-in must be set before Prefect is imported")
        os.environ["PREFECT_API_AUTH_STRING"] = auth
    return auth
