"""The local physical ids and attributes of the template's resources (what Ref and GetAtt return).

Names are derived from the logical id ("claude-events-local-EventsTable") unless the template
names the resource itself. Attributes that only exist once a resource is created (a table's
StreamArn) are added by whoever creates it.
"""

from __future__ import annotations

from typing import Any

from local.intrinsics import ACCOUNT_ID, REGION, STACK_NAME, Resolver

TABLE = "AWS::DynamoDB::Table"
SERVERLESS_FUNCTION = "AWS::Serverless::Function"
LAMBDA_FUNCTION = "AWS::Lambda::Function"
HTTP_API = "AWS::Serverless::HttpApi"
API_V2 = "AWS::ApiGatewayV2::Api"
API_V2_ROUTE = "AWS::ApiGatewayV2::Route"
API_V2_INTEGRATION = "AWS::ApiGatewayV2::Integration"
API_V2_AUTHORIZER = "AWS::ApiGatewayV2::Authorizer"
API_V2_ROUTE_RESPONSE = "AWS::ApiGatewayV2::RouteResponse"
API_V2_STAGE = "AWS::ApiGatewayV2::Stage"
# Sub-resources of an API whose Ref is an id the API Gateway makes up.
API_V2_PARTS = (
    API_V2_ROUTE,
    API_V2_INTEGRATION,
    API_V2_AUTHORIZER,
    API_V2_ROUTE_RESPONSE,
    "AWS::ApiGatewayV2::Deployment",
    "AWS::ApiGatewayV2::IntegrationResponse",
)
EVENT_SOURCE_MAPPING = "AWS::Lambda::EventSourceMapping"
SQS_QUEUE = "AWS::SQS::Queue"
LOG_GROUP = "AWS::Logs::LogGroup"
LAYER_TYPES = ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion")
# The HTTP API SAM makes for HttpApi events that name no ApiId.
IMPLICIT_HTTP_API = "ServerlessHttpApi"


def physical_name(logical_id: str) -> str:
    return f"{STACK_NAME}-{logical_id}"


def register(resolver: Resolver) -> None:
    """Give every resource type the local stack knows its Ref value and attributes."""
    resources: dict[str, Any] = resolver.template.get("Resources") or {}
    for logical_id, resource in resources.items():
        _register_one(resolver, logical_id, resource["Type"], resource.get("Properties") or {})
    if IMPLICIT_HTTP_API not in resources:
        _register_api(resolver, IMPLICIT_HTTP_API)


def _register_one(resolver: Resolver, logical_id: str, resource_type: str, properties: dict[str, Any]) -> None:
    prefix = f"arn:aws:{{}}:{REGION}:{ACCOUNT_ID}"
    if resource_type == TABLE:
        name = _own_name(resolver, properties, "TableName", logical_id)
        resolver.names[logical_id] = name
        resolver.attributes[(logical_id, "Arn")] = f"{prefix.format('dynamodb')}:table/{name}"
    elif resource_type in (SERVERLESS_FUNCTION, LAMBDA_FUNCTION):
        name = _own_name(resolver, properties, "FunctionName", logical_id)
        resolver.names[logical_id] = name
        resolver.attributes[(logical_id, "Arn")] = f"{prefix.format('lambda')}:function:{name}"
    elif resource_type in (HTTP_API, API_V2):
        _register_api(resolver, logical_id)
    elif resource_type in API_V2_PARTS:
        resolver.names[logical_id] = local_id(logical_id)
    elif resource_type == API_V2_STAGE:
        resolver.names[logical_id] = _own_name(resolver, properties, "StageName", logical_id)
    elif resource_type == SQS_QUEUE:
        name = _own_name(resolver, properties, "QueueName", logical_id)
        resolver.names[logical_id] = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{name}"
        resolver.attributes[(logical_id, "Arn")] = f"{prefix.format('sqs')}:{name}"
        resolver.attributes[(logical_id, "QueueName")] = name
    elif resource_type == LOG_GROUP:
        name = _own_name(resolver, properties, "LogGroupName", logical_id, default=f"/aws/local/{logical_id}")
        resolver.names[logical_id] = name
        resolver.attributes[(logical_id, "Arn")] = f"{prefix.format('logs')}:log-group:{name}:*"
    elif resource_type in LAYER_TYPES:
        resolver.names[logical_id] = f"{prefix.format('lambda')}:layer:{physical_name(logical_id)}:1"


def local_id(logical_id: str) -> str:
    """The id API Gateway would make up for a resource (an API, a route, an integration…)."""
    return logical_id.lower()


def _register_api(resolver: Resolver, logical_id: str) -> None:
    api_id = local_id(logical_id)
    resolver.names[logical_id] = api_id
    resolver.attributes[(logical_id, "ApiId")] = api_id


def _own_name(
    resolver: Resolver, properties: dict[str, Any], key: str, logical_id: str, default: str | None = None
) -> str:
    if key in properties:
        return resolver.resolve_text(properties[key])
    return default or physical_name(logical_id)
