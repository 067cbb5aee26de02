"""WebSocket connections: who is connected and what each wants to see."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from claude_events import timestamps

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# API Gateway closes a WebSocket after 2 hours at most; the record outlives it a little, and TTL
# removes records whose $disconnect never arrived.
CONNECTION_LIFETIME_SECONDS = 2 * 3600 + 300
ESTABLISH_GRACE_SECONDS = 10


@dataclass(frozen=True)
class EventFilter:
    """What a connection wants: one session or all, some event names or all."""

    session_id: str | None = None
    event_names: frozenset[str] = field(default_factory=frozenset)

    def matches(self, session_id: str, event_name: str) -> bool:
        if self.session_id is not None and session_id != self.session_id:
            return False
        return not self.event_names or event_name in self.event_names

    def as_dict(self) -> dict[str, Any]:
        return {"sessionId": self.session_id, "events": sorted(self.event_names) or None}


@dataclass(frozen=True)
class Connection:
    connection_id: str
    filter: EventFilter
    principal: str | None = None


class ConnectionStore:
    """The connections table, behind the DynamoDB client it is given."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._table = table_name
        self._wall_clock = wall_clock

    def save(self, connection: Connection) -> None:
        now = self._wall_clock()
        item: dict[str, Any] = {
            "connectionId": {"S": connection.connection_id},
            "connectedAt": {"S": timestamps.display(timestamps.from_epoch(now))},
            "connectedAtEpoch": {"N": str(int(now))},
            "ttl": {"N": str(int(now) + CONNECTION_LIFETIME_SECONDS)},
        }
        item.update(_filter_attributes(connection.filter))
        if connection.principal:
            item["principal"] = {"S": connection.principal}
        self._client.put_item(TableName=self._table, Item=item)

    def update_filter(self, connection_id: str, event_filter: EventFilter) -> bool:
        """Change a live connection's filter; False if the connection is not known."""
        attributes = _filter_attributes(event_filter)
        names = {"#s": "sessionId", "#e": "events"}
        sets = [
            f"{placeholder} = :{name}"
            for placeholder, name in (("#s", "sessionId"), ("#e", "events"))
            if name in attributes
        ]
        removes = [
            placeholder for placeholder, name in (("#s", "sessionId"), ("#e", "events")) if name not in attributes
        ]
        expression = ""
        if sets:
            expression += "SET " + ", ".join(sets)
        if removes:
            expression += (" " if expression else "") + "REMOVE " + ", ".join(removes)
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": {"connectionId": {"S": connection_id}},
            "UpdateExpression": expression,
            "ConditionExpression": "attribute_exists(connectionId)",
            "ExpressionAttributeNames": names,
        }
        values = {f":{name}": value for name, value in attributes.items()}
        if values:
            request["ExpressionAttributeValues"] = values
        try:
            self._client.update_item(**request)
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def get(self, connection_id: str) -> Connection | None:
        response = self._client.get_item(
            TableName=self._table, Key={"connectionId": {"S": connection_id}}, ConsistentRead=True
        )
        item = response.get("Item")
        return _connection(item) if item else None

    def delete(self, connection_id: str) -> None:
        self._client.delete_item(TableName=self._table, Key={"connectionId": {"S": connection_id}})

    def prune(self, connection_id: str, grace_seconds: int = ESTABLISH_GRACE_SECONDS) -> bool:
        """Delete a connection that answered 410, unless it is too young to be stale.

        Until API Gateway has established a new connection (just after $connect returns), a post to
        it also answers 410; deleting it then would cut the client off from live events for good.
        False when the connection was kept (young) or could not be deleted.
        """
        cutoff = int(self._wall_clock()) - grace_seconds
        try:
            self._client.delete_item(
                TableName=self._table,
                Key={"connectionId": {"S": connection_id}},
                ConditionExpression="attribute_not_exists(connectedAtEpoch) OR connectedAtEpoch < :cutoff",
                ExpressionAttributeValues={":cutoff": {"N": str(cutoff)}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        except (ClientError, BotoCoreError):
            # Pruning is housekeeping: TTL removes the record anyway; the broadcast goes on.
            return False
        return True

    def all(self) -> Iterator[Connection]:
        """Every live connection. The table is small (one item per open dashboard): a Scan is right."""
        now = int(self._wall_clock())
        request: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "#t > :now",
            "ExpressionAttributeNames": {"#t": "ttl"},
            "ExpressionAttributeValues": {":now": {"N": str(now)}},
        }
        while True:
            response = self._client.scan(**request)
            for item in response.get("Items", []):
                yield _connection(item)
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            request["ExclusiveStartKey"] = last


def _filter_attributes(event_filter: EventFilter) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    if event_filter.session_id is not None:
        attributes["sessionId"] = {"S": event_filter.session_id}
    if event_filter.event_names:
        attributes["events"] = {"SS": sorted(event_filter.event_names)}
    return attributes


def _connection(item: dict[str, Any]) -> Connection:
    session = item.get("sessionId", {}).get("S")
    names = frozenset(item.get("events", {}).get("SS", []))
    principal = item.get("principal", {}).get("S")
    return Connection(item["connectionId"]["S"], EventFilter(session, names), principal)
