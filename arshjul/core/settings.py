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
    def mail_dir(self) -> Path:
        return self.home / "mail"

    @property
    def prefect_home(self) -> Path:
        return self.home / "prefect"


@lru_cache
def get_settings() -> Settings:
    return Settings()
