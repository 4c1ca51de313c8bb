"""The one settings object. Every value can be set in the environment with the prefix ARSHJUL_."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ORGANISATION = PROJECT_ROOT / "calendar" / "region-jamtland-harjedalen"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARSHJUL_", extra="ignore")

    home: Path = Field(default=Path("var"), description="Folder for the embedded default's state.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the app database; default SQLite under home."
    )
    org: Path = Field(default=DEFAULT_ORGANISATION, description="The organisation's calendar folder.")
    ui_url: str = Field(default="http://127.0.0.1:4200", description="Base URL of the Prefect UI, used in links.")

    # The web app for people (`arshjul web`, and beside the Prefect UI in `arshjul serve`).
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)
    # The address people reach the web app at (behind the region's reverse proxy in
    # production): every link in a mail starts with it. Default: http://web_host:web_port.
    public_url: str | None = None
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
    smtp_port: int = 25
    smtp_tls: bool = False  # STARTTLS
    smtp_ssl: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_timeout: float = 30.0
    mail_from: str = "Årshjulet <arshjul@example.se>"
    sink_port: int = 8025
    mail_max_attempts: int = 8
    mail_retry_base_seconds: float = 60.0
    # How long a sender's claim on a page of messages lasts: after a crash its messages
    # wait this long before another sender takes them. At least four SMTP timeouts.
    mail_claim_seconds: float = 600.0
    # SMTP connections per sending process, each a sender of its own: while one waits
    # for the server, another builds its next message.
    mail_connections: int = Field(default=2, ge=1, le=16)

    # How many step runs `cycle start` creates at once (requests in flight). 0 = one at a
    # time: the embedded server is on SQLite (one writer at a time), and against a server
    # on PostgreSQL on this 2-core machine 16 at once measured slower than one at a time
    # (README, Benchmarks). Set it where the Prefect server has cores to spare.
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
    def prefect_home(self) -> Path:
        return self.home / "prefect"


@lru_cache
def get_settings() -> Settings:
    return Settings()
