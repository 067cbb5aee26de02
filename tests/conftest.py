"""Settings every test shares: fake AWS credentials, no tracing, the functions' environment."""

from __future__ import annotations

import os

# Set before any handler module is imported: settings are read once per cold start.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        # moto 5 + current botocore: DynamoDB Streams calls 404 without this.
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "claude-events",
        "POWERTOOLS_METRICS_NAMESPACE": "ClaudeEvents",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
        "EVENTS_TABLE_NAME": "claude-events-test",
        "SHARD_COUNT": "4",
        "RETENTION_DAYS": "30",
        "CURSOR_SIGNING_KEY": "test-cursor-signing-key",
        "CONNECTIONS_TABLE_NAME": "claude-events-connections-test",
        "WEBSOCKET_MANAGEMENT_URL": "https://abc123defg.execute-api.us-east-1.amazonaws.com/test",
    }
)
