"""Lambda functions: a supported runtime, a log group with retention, and no public invocation."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import PolicyResource

from ..rule import DeferredUnknowns, Graph, Subject, resource_rule, setting_schema, stack_rule
from ..values import as_list, as_number, dig, is_set

FUNCTION_TYPE = "aws:lambda/function:Function"
LOG_GROUP_TYPE = "aws:cloudwatch/logGroup:LogGroup"
PERMISSION_TYPE = "aws:lambda/permission:Permission"
FUNCTION_URL_TYPE = "aws:lambda/functionUrl:FunctionUrl"

# Python runtimes Lambda supports for creating and updating functions, newest first; the connector's
# dependency layer is built for python3.12 (CONTRACT.md, Packaging).
DEFAULT_ALLOWED_RUNTIMES = ("python3.14", "python3.13", "python3.12")


def check_runtime(subject: Subject) -> Iterator[str]:
    if dig(subject.props, "packageType") == "Image":
        return  # a container image brings its own runtime
    configured = as_list(subject.config.get("allowedRuntimes"))
    allowed = [runtime for runtime in configured if isinstance(runtime, str)]
    allowed = allowed or list(DEFAULT_ALLOWED_RUNTIMES)
    runtime = dig(subject.props, "runtime")
    if runtime not in allowed:
        yield f"runtime {runtime!r} is not one of the allowed runtimes {', '.join(allowed)}"


def _log_groups_of(graph: Graph, function: PolicyResource) -> list[PolicyResource]:
    linked = [
        dependency
        for dependency in function.property_dependencies.get("loggingConfig") or []
        if dependency.resource_type == LOG_GROUP_TYPE
    ]
    if linked:
        return linked
    props = graph.props(function)
    expected = dig(props, "loggingConfig", "logGroup")
    if not is_set(expected):
        name = dig(props, "name")
        expected = f"/aws/lambda/{name}" if isinstance(name, str) and name else None
    if not isinstance(expected, str):
        return []
    return [group for group in graph.of_type(LOG_GROUP_TYPE) if graph.props(group).get("name") == expected]


def _log_group_problems(graph: Graph, function: PolicyResource) -> Iterator[str]:
    groups = _log_groups_of(graph, function)
    if not groups:
        yield ("no log group in the stack: create an aws.cloudwatch.LogGroup with retention_in_days and set "
               "logging_config.log_group to its name (or name it /aws/lambda/<function name>)")
        return
    retention = dig(graph.props(groups[0]), "retentionInDays")
    days = as_number(retention)
    if days is None or days <= 0:
        yield f"log group {groups[0].name!r} keeps logs forever: set retention_in_days (e.g. 30)"


def check_function_log_groups(graph: Graph) -> Iterator[tuple[str, str]]:
    deferred = DeferredUnknowns()
    for function in graph.of_type(FUNCTION_TYPE):
        for message in deferred.run(_log_group_problems(graph, function)):
            yield function.urn, message
    deferred.raise_if_any()


def check_not_public(subject: Subject) -> Iterator[str]:
    props = subject.props
    if subject.resource_type == FUNCTION_URL_TYPE:
        if dig(props, "authorizationType") == "NONE":
            yield ("function URL has authorization_type 'NONE': anyone on the internet can invoke it; "
                   "use 'AWS_IAM'")
        return
    principal = dig(props, "principal")
    if principal != "*":
        return
    scoped = [key for key in ("sourceArn", "sourceAccount", "principalOrgId") if is_set(props.get(key))]
    if not scoped:
        yield ("permission lets principal '*' invoke the function from anywhere: name the service principal "
               "and set source_arn or source_account")


POLICIES = [
    resource_rule(
        "lambda-supported-runtime",
        "Lambda functions use a runtime from the allowed list (supported by AWS, matching the layer).",
        [FUNCTION_TYPE],
        check_runtime,
        config_schema=setting_schema(
            "allowedRuntimes", DEFAULT_ALLOWED_RUNTIMES, "Lambda runtime identifiers functions may use."
        ),
    ),
    stack_rule(
        "lambda-log-group-retention",
        "Every Lambda function has its log group in the stack (logging_config.log_group or "
        "/aws/lambda/<name>) with a retention period, so logs neither go unmanaged nor pile up forever.",
        check_function_log_groups,
    ),
    resource_rule(
        "lambda-not-public",
        "Lambda functions cannot be invoked by anyone: no permission for principal '*' without a source "
        "condition and no function URL without authentication.",
        [PERMISSION_TYPE, FUNCTION_URL_TYPE],
        check_not_public,
    ),
]
