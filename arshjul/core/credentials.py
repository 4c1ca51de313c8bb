"""The embedded Prefect server's sign-in: Prefect's own basic auth, "user:password",
from `ARSHJUL_PREFECT_AUTH_STRING` or generated once under home (`prefect-inloggning`,
readable by its owner only). The start banner names the file; the regionstab's pages of
the web app ask for the same sign-in."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

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
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(f"{LOGIN_USER}:{secrets.token_urlsafe(18)}\n", encoding="utf-8")
        temporary.chmod(0o600)
        try:
            os.link(temporary, path)  # two processes at once: the first one's wins
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)
    return path.read_text(encoding="utf-8").strip()
