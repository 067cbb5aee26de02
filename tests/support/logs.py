"""Capture everything the functions print or log, for the tests that search it for secrets."""

from __future__ import annotations

import logging
import sys

import pytest

from claude_events.observability import logger as service_logger


class CurrentStdout:
    """Writes to whatever sys.stdout is now (capsys swaps it between test phases)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


class Written:
    """Everything printed to stdout/stderr or logged through the logging module."""

    def __init__(self, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
        self._capsys = capsys
        self._caplog = caplog
        self._printed = ""

    @property
    def records(self) -> list[logging.LogRecord]:
        return self._caplog.records

    def text(self) -> str:
        out, err = self._capsys.readouterr()
        self._printed += out + err
        formatter = logging.Formatter()
        chunks = [self._printed, self._caplog.text]
        for record in self._caplog.records:
            chunks.append(formatter.format(record))  # message, arguments and traceback
            chunks.append(repr(vars(record)))  # and every `extra` field
        return "\n".join(chunks)


def capture_everything(capsys, caplog, monkeypatch) -> Written:
    caplog.set_level(logging.DEBUG)  # the root logger, as AWS_LAMBDA_LOG_LEVEL=DEBUG sets it
    assert service_logger.log_level == logging.DEBUG  # POWERTOOLS_LOG_LEVEL in tests/conftest.py
    # The service logger's handler holds the stdout of import time; send it to capsys's instead.
    for handler in logging.getLogger(service_logger.name).handlers:
        if isinstance(handler, logging.StreamHandler):
            monkeypatch.setattr(handler, "stream", CurrentStdout())
    return Written(capsys, caplog)
