"""Benchmarks of the real handlers: they print figures and assert nothing (issue #2, item 11).

`make bench` runs `python -m bench.ingest_handler` (warm cost per event of the ingest handler)
and `python -m bench.cold_start` (import + init time of each handler against bare boto3).
The figures of record, with the machine they came from, are in docs/PERFORMANCE.md.
"""

from __future__ import annotations

import math
import os
import platform
import re
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT / "shared"

_NUMBER = re.compile(r"[-+]?[\d.,]+(%|x.*)?")

# What template.yaml gives every function, plus fake credentials and no X-Ray daemon.
FUNCTION_ENV: dict[str, str] = {
    "EVENTS_TABLE_NAME": "claude-events-bench",
    "SHARD_COUNT": "4",
    "RETENTION_DAYS": "30",
    "CURSOR_SIGNING_KEY": "bench-cursor-signing-key",
    "POWERTOOLS_SERVICE_NAME": "claude-events",
    "POWERTOOLS_METRICS_NAMESPACE": "ClaudeEvents",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
    "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    # No ~/.aws files and no instance metadata: a Lambda sandbox has neither.
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def lambda_environment(function_name: str, code_dir: Path) -> dict[str, str]:
    """The variables the Lambda runtime adds: aws_xray_sdk and Powertools look at them."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "LAMBDA_TASK_ROOT": str(code_dir),
    }


def use_function_environment(function_name: str = "ingest") -> None:
    """Set a function's environment in this process and make `shared` and the repo importable."""
    os.environ.update(FUNCTION_ENV)
    os.environ.update(lambda_environment(function_name, ROOT / "functions" / function_name))
    for path in (str(SHARED), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)


def machine_summary() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = ""
    if hasattr(os, "getloadavg"):
        load = " | load avg {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    return (
        f"nproc {os.cpu_count()} ({cpu}, {platform.machine()}) | Python {platform.python_version()} "
        f"({sys.implementation.name}) | {platform.system()} {platform.release()}{load}"
    )


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the value below which `fraction` of the samples fall."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table, so the output can be pasted into docs/PERFORMANCE.md as it is."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = ["| " + " | ".join(str(cell).ljust(width) for cell, width in zip(headers, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    lines.extend(
        "| " + " | ".join(_align(str(cell), width) for cell, width in zip(row, widths, strict=True)) + " |"
        for row in rows
    )
    return "\n".join(lines)


def _align(cell: str, width: int) -> str:
    """Figures to the right, words to the left."""
    return cell.rjust(width) if _NUMBER.fullmatch(cell) else cell.ljust(width)
