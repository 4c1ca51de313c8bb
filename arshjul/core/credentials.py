"""The embedded Prefect server's sign-in: Prefect's own basic auth, "user:password",
from `ARSHJUL_PREFECT_AUTH_STRING` or generated once under home (`prefect-inloggning`,
readable by its owner only). The start banner names the file; the regionstab's pages of
the web app ask for the same sign-in."""

from __future__ import annotations

import secrets
from pathlib import Path

from arshjul.core.private_files import write_once_private
from arshjul.core.settings import Settings

LOGIN_FILE = "prefect-inloggning"
LOGIN_USER = "regionstab"


def login_file(settings: Settings) -> Path:
    return settings.home / LOGIN_FILE


def prefect_auth_string(settings: Settings) -> str | None:
    """The sign-in as "user:password", or None when it is switched off."""
    if not settings.prefect_auth:
        return None
    if settings.prefect_auth_string:
        return settings.prefect_auth_string
    path = login_file(settings)
    if not path.exists():
        write_once_private(path, f"{LOGIN_USER}:{secrets.token_urlsafe(18)}\n".encode())
    return path.read_text(encoding="utf-8").strip()
