"""Running the web app: uvicorn on the configured host and port, its access log without
tokens (a token in a log would let whoever reads the log act as the person)."""

from __future__ import annotations

import logging
from typing import Any

from arshjul.core.links import redact_tokens
from arshjul.core.settings import Settings


class RedactTokens(logging.Filter):
    """Replaces every token in a log record with "[token]", in the message and its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_tokens(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact_tokens(record.msg)
        return True


def install_redaction() -> None:
    for name in ("uvicorn.access", "uvicorn.error", "uvicorn", "arshjul", "fastapi"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


def worker_app():
    """The app in one of several worker processes: uvicorn starts each one afresh and
    imports this by name, so each reads the settings and installs the redaction itself."""
    import logging.config

    from uvicorn.config import LOGGING_CONFIG

    from arshjul.web.app import create_app

    app = create_app()
    # The app's import brought Prefect, whose logging setup quiets uvicorn's loggers (the
    # access log among them); uvicorn set them up before it imported the app.
    logging.config.dictConfig(LOGGING_CONFIG)
    install_redaction()
    return app


def serve_web(settings: Settings) -> None:
    """Serve the app until stopped (Ctrl-C or SIGTERM): in this process, or in
    `web_workers` worker processes on the same port."""
    import uvicorn

    from arshjul.web.app import create_app

    install_redaction()
    options: dict[str, Any] = dict(
        host=settings.web_host,
        port=settings.web_port,
        proxy_headers=True,
        forwarded_allow_ips=settings.web_forwarded_allow_ips,
        server_header=False,
        log_level="info",
    )
    if settings.web_workers > 1:
        uvicorn.run("arshjul.web.server:worker_app", factory=True, workers=settings.web_workers, **options)
        return
    server = uvicorn.Server(uvicorn.Config(create_app(settings), **options))
    install_redaction()  # again: uvicorn configures its loggers when the server is made
    server.run()
