"""The one settings object. Every value can be set in the environment with the prefix ARSHJUL_."""

import email.utils
import re
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.swedish import describe_setting_error

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ORGANISATION = PROJECT_ROOT / "calendar" / "region-jamtland-harjedalen"

_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\\\"]+@[^@\s<>()\[\],;:\\\"]+\.[^@\s<>()\[\],;:\\\"]+$")


def _web_address(value: str) -> str:
    """An http(s) address with a host: it becomes the link in every mail, so nothing
    else (javascript:, file:, a bare word) may pass."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("måste vara en webbadress som börjar med http:// eller https://")
    if any(ch.isspace() or ord(ch) < 32 for ch in value.strip()):
        raise ValueError("en webbadress får inte innehålla blanksteg eller styrtecken")
    try:
        parts.port  # noqa: B018 (a port outside 0-65535 raises here)
    except ValueError:
        raise ValueError(f"ogiltig port i webbadressen {value!r}") from None
    return value.strip()


def _mail_address(value: str) -> str:
    """'Årshjulet <arshjul@region.se>' or 'arshjul@region.se'."""
    name, address = email.utils.parseaddr(value)
    if not _ADDRESS.match(address) or any(ch in value for ch in "\r\n"):
        raise ValueError("måste vara en e-postadress (t.ex. Årshjulet <arshjul@region.se>)")
    return value


WebAddress = Annotated[str, AfterValidator(_web_address)]
Port = Annotated[int, Field(ge=1, le=65535)]
# Seconds and minutes: positive, finite (no NaN, no infinity), at most a day.
Seconds = Annotated[float, Field(gt=0, le=86400, allow_inf_nan=False)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARSHJUL_", extra="ignore")

    home: Path = Field(default=Path("var"), description="Folder for the embedded default's state.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the app database; default SQLite under home."
    )
    org: Path = Field(default=DEFAULT_ORGANISATION, description="The organisation's calendar folder.")
    ui_url: WebAddress = Field(
        default="http://127.0.0.1:4200", description="Base URL of the Prefect UI, used in links."
    )

    # The web app for people (`arshjul web`, and beside the Prefect UI in `arshjul serve`).
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)
    # Processes of `arshjul web` (production): one Python process uses one core for its
    # pages, so a machine with more cores serves more people at once with one per core.
    web_workers: int = Field(default=1, ge=1, le=64)
    # The address people reach the web app at (behind the region's reverse proxy in
    # production): every link in a mail starts with it. Default: http://web_host:web_port.
    public_url: WebAddress | None = None
    # Proxies whose X-Forwarded-For the web app believes (comma-separated, or "*").
    web_forwarded_allow_ips: str = "127.0.0.1"
    # Keys that sign the links in mails (HMAC-SHA256), comma-separated: the first signs,
    # every one is accepted, so a key can be rotated. Unset on the embedded default: one
    # is generated under home on first start; production (a database URL) must set it.
    link_secrets: str | None = None
    link_days: int = Field(default=60, ge=1, le=400)  # how long a step's link in a mail works
    personal_link_days: int = Field(default=180, ge=1, le=800)  # "Mina steg" and its calendar feed
    # Refused link attempts allowed per client address within link_failure_window_minutes.
    link_failures_allowed: int = Field(default=10, ge=1)
    link_failure_window_minutes: int = Field(default=15, ge=1)

    # The embedded Prefect server's basic auth (Prefect's own PREFECT_SERVER_API_AUTH_STRING
    # on the server, PREFECT_API_AUTH_STRING for the app's clients): on by default, with a
    # generated "user:password" under home unless prefect_auth_string is given.
    prefect_auth: bool = True
    prefect_auth_string: str | None = None

    # Outgoing mail. With no smtp_host the local sink of `arshjul serve` is used.
    smtp_host: str | None = None
    smtp_port: Port = 25
    smtp_tls: bool = False  # STARTTLS
    smtp_ssl: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_timeout: Seconds = 30.0
    # How long `calendars[].url` feeds (organisation.yaml) may take to answer; after that
    # the last good copy under home/kalenderfloden is used (arshjul.core.calendar_feeds).
    calendar_feed_timeout: Annotated[float, Field(gt=0, le=60, allow_inf_nan=False)] = 5.0
    mail_from: Annotated[str, AfterValidator(_mail_address)] = "Årshjulet <arshjul@example.se>"
    sink_port: Port = 8025
    mail_max_attempts: int = Field(default=8, ge=1, le=100)  # the first attempt and the retries
    mail_retry_base_seconds: Seconds = 60.0
    # How long a sender's claim on a page of messages lasts: after a crash its messages
    # wait this long before another sender takes them. At least four SMTP timeouts.
    mail_claim_seconds: Seconds = 600.0
    # SMTP connections per sending process, each a sender of its own: while one waits
    # for the server, another builds its next message.
    mail_connections: int = Field(default=2, ge=1, le=16)
    # Prefect's zombie detection: a run without a heartbeat (or an end) for this long is
    # marked Crashed, and the reconciler starts it again. Heartbeats come every 60 s.
    zombie_seconds: int = Field(default=300, ge=90, le=86400)
    # After the relay refused this configuration (a login, the sender address, TLS), how
    # long automatic senders wait before logging in with it again (relays lock accounts).
    mail_fault_retry_minutes: float = Field(default=30.0, ge=1, le=1440, allow_inf_nan=False)

    @field_validator("home")
    @classmethod
    def _home_is_writable(cls, home: Path) -> Path:
        # Checked, not created: reading the settings leaves nothing behind. A probe file
        # (gone when closed) rather than os.access, which says yes to root everywhere.
        existing = home.resolve()
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            raise ValueError(f"{existing} är ingen mapp")
        try:
            with tempfile.TemporaryFile(dir=existing):
                pass
        except OSError:
            raise ValueError(f"mappen {existing} går inte att skriva i (ange en annan ARSHJUL_HOME)") from None
        return home

    @field_validator("database_url")
    @classmethod
    def _database_url_is_known(cls, url: str | None) -> str | None:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        if url is None or not url.strip():
            return None
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise ValueError(
                "ogiltig databasadress (skriv postgresql://användare@värd/databas eller sqlite:///sökväg)"
            ) from None
        if parsed.get_backend_name() not in ("postgresql", "sqlite") or parsed.drivername not in (
            "postgresql",
            "postgresql+psycopg",
            "sqlite",
            "sqlite+pysqlite",
        ):
            raise ValueError(f"databastypen {parsed.drivername!r} stöds inte: använd postgresql:// eller sqlite://")
        if parsed.get_backend_name() == "postgresql" and not parsed.database:
            raise ValueError("databasadressen saknar databasens namn (postgresql://användare@värd/databas)")
        return url

    @model_validator(mode="after")
    def _one_kind_of_tls(self) -> "Settings":
        if self.smtp_tls and self.smtp_ssl:
            raise ValueError(
                "ARSHJUL_SMTP_TLS och ARSHJUL_SMTP_SSL kan inte båda vara på: välj STARTTLS (TLS, oftast port 587) "
                "eller SSL (oftast port 465)"
            )
        return self

    # The audit log's checkpoints (arshjul.core.checkpoints): the folder the signed
    # checkpoint file is appended to, and the Ed25519 key that signs them. Both belong
    # where the app database's writers cannot reach; the key is generated on the
    # embedded default, and must exist in production (`arshjul audit keygen`).
    checkpoint_dir: Path | None = None  # default: home/kontrollpunkter
    checkpoint_key: Path | None = None  # default: home/kontrollpunkt-nyckel.pem

    # How many creation requests `cycle start` keeps in flight (each asks the Prefect
    # server for up to 100 step runs, tasks/flow_runs.py). 0 = one at a time: the embedded
    # server is on SQLite (one writer at a time), and against a server on PostgreSQL on
    # this 2-core machine more in flight bought nothing (README, Benchmarks). Set it where
    # the Prefect server has cores to spare.
    run_creation_concurrency: int = Field(default=0, ge=0, le=64)

    @model_validator(mode="after")
    def _claims_outlast_smtp(self) -> "Settings":
        # A sender must finish a message well within its claim, or another sender could
        # take the message over and send it a second time.
        if self.mail_claim_seconds < 4 * self.smtp_timeout:
            raise ValueError(
                f"ARSHJUL_MAIL_CLAIM_SECONDS ({self.mail_claim_seconds:g}) måste vara minst fyra gånger "
                f"ARSHJUL_SMTP_TIMEOUT ({self.smtp_timeout:g}): höj det första eller sänk det andra"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'arshjul.db').resolve()}"

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.web_host}:{self.web_port}").rstrip("/")

    @property
    def uses_embedded_database(self) -> bool:
        """The embedded default's SQLite under home (not production's database)."""
        return not self.database_url or self.database_url.startswith("sqlite")

    @property
    def resolved_run_creation_concurrency(self) -> int:
        if self.uses_embedded_database:
            return 1  # the embedded Prefect server's SQLite takes one writer at a time
        return self.run_creation_concurrency or 1

    @property
    def mail_dir(self) -> Path:
        return self.home / "mail"

    @property
    def resolved_checkpoint_dir(self) -> Path:
        return self.checkpoint_dir or self.home / "kontrollpunkter"

    @property
    def resolved_checkpoint_key(self) -> Path:
        return self.checkpoint_key or self.home / "kontrollpunkt-nyckel.pem"

    @property
    def prefect_home(self) -> Path:
        return self.home / "prefect"


class SettingsError(ValueError):
    """Bad ARSHJUL_* values, each named in Swedish (`problems`): what a command prints,
    and what a served run or a worker fails with in the Prefect UI."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("felaktiga inställningar: " + "; ".join(problems))


# Settings whose value is a secret: a bad one is named, never shown.
SECRET_SETTINGS = frozenset({"smtp_password", "link_secrets", "prefect_auth_string"})


def _without_secrets(error: Mapping[str, Any]) -> dict[str, Any]:
    """The validation error as it may be shown: a secret's value hidden, and the
    password of a database URL masked (the message reaches terminals and run logs)."""
    field = str(error["loc"][0]) if error.get("loc") else ""
    if field in SECRET_SETTINGS:
        return {**error, "input": "***"}
    if field == "database_url" and isinstance(error.get("input"), str):
        return {**error, "input": re.sub(r"(//[^/@:]*:)[^/]*@", r"\1***@", error["input"])}
    return dict(error)


@lru_cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(
            [describe_setting_error(_without_secrets(error), prefix="ARSHJUL_") for error in exc.errors()]
        ) from None
