"""Running the web app: uvicorn on the configured host and port, its access log without
tokens (a token in a log would let whoever reads the log act as the person)."""

from __future__ import annotations

import logging

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


def serve_web(settings: Settings) -> None:
    """Serve the app until stopped (Ctrl-C or SIGTERM)."""
    import uvicorn

    from arshjul.web.app import create_app

    install_redaction()
    config = uvicorn.Config(
        create_app(settings),
        host=settings.web_host,
        port=settings.web_port,
        proxy_headers=True,
        forwarded_allow_ips=settings.web_forwarded_allow_ips,
        server_header=False,
        log_level="info",
    )
    server = uvicorn.Server(config)
    install_redaction()  # again: uvicorn configures its loggers when the server is made
    server.run()
