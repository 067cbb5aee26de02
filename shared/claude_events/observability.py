"""The one place that makes the Logger, Metrics and Tracer every function uses.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and
POWERTOOLS_METRICS_NAMESPACE (set in the template's Globals).
"""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()
# Only botocore calls become subsegments: patching every library X-Ray knows costs cold-start time
# for modules these functions never use.
tracer = Tracer(patch_modules=["botocore"])

# At DEBUG, botocore logs every request and response body: stored events, with their prompts and
# tool inputs and outputs. When the function's log level is DEBUG (AWS_LAMBDA_LOG_LEVEL sets the
# root logger), the SDK must still stop at INFO.
logging.getLogger("botocore").setLevel(logging.INFO)
# Likewise the batch processor's DEBUG line quotes a failed record's validation error, which can
# hold fragments of its payload.
logging.getLogger("aws_lambda_powertools.utilities.batch").setLevel(logging.INFO)

__all__ = ["MetricUnit", "logger", "metrics", "tracer"]
