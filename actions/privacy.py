"""Identity-card (CCCD) and phone numbers never reach a log line in full.

`install_log_masking()` wraps the process's log record factory, so every record, from our loggers
or a library's (rasa-sdk, Sanic, gunicorn, Flask), is masked with `mask_personal` when it is made,
before any handler formats it. Stdlib only: the web app, the action server and Rasa all call it.
"""

from __future__ import annotations

import logging
from typing import Any

from actions.validators import mask_personal

_INSTALLED = "_assist_masking"
_FORMATTER = logging.Formatter()


def masked_record(record: logging.LogRecord) -> logging.LogRecord:
    """The record with its message rendered and masked (the arguments are folded into it)."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a malformed call: logging reports it, quoting the arguments
        if isinstance(record.args, tuple):
            record.args = tuple(mask_personal(str(arg)) for arg in record.args)
        return record
    masked = mask_personal(message)
    if masked != message or record.args:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:  # a traceback's exception message may quote the citizen
        record.exc_text = mask_personal(_FORMATTER.formatException(record.exc_info))
    return record


def install_log_masking() -> None:
    """Mask every log record this process makes from now on; calling it again changes nothing."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, _INSTALLED, False):
        return

    def masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return masked_record(factory(*args, **kwargs))

    setattr(masking_factory, _INSTALLED, True)
    logging.setLogRecordFactory(masking_factory)
