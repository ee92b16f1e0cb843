"""The offline check reports exactly what pulumi_policy's own analyzer reports for the same resources.

The analyzer servicer below is the one `PolicyPack(...)` serves to the Pulumi engine; fed protobuf requests
built from the graph records (as the engine sends them), its diagnostics must match `evaluate`'s verdicts.
"""

import pytest
from elastio_policies import ALL_POLICIES
from elastio_policies.offline import PACK_NAME, PACK_VERSION, evaluate
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel
from pulumi_policy.deserialize import serialize_properties
from pulumi_policy.policy import _PolicyAnalyzerServicer

from tests.policies.policy_graph import changed
from tests.policies.test_rule_catalogue import NON_COMPLIANT

_LEVEL_NAMES = {proto.MANDATORY: "mandatory", proto.ADVISORY: "advisory"}


def _struct(inputs: dict) -> struct_pb2.Struct:
    # As on the wire: assets and archives (Lambda code) in their serialised form.
    struct = struct_pb2.Struct()
    json_format.ParseDict(dict(serialize_properties(inputs)), struct)
    return struct


def _options(record: dict) -> proto.AnalyzerResourceOptions:
    return proto.AnalyzerResourceOptions(protect=record["protect"], parent=record["parent"] or "")


def engine_diagnostics(records: list[dict]) -> set[tuple[str, str, str, str]]:
    servicer = _PolicyAnalyzerServicer(PACK_NAME, PACK_VERSION, ALL_POLICIES, EnforcementLevel.MANDATORY)
    found = set()
    for record in records:
        request = proto.AnalyzeRequest(type=record["type"], properties=_struct(record["inputs"]),
                                       urn=record["urn"], name=record["name"], options=_options(record))
        for diagnostic in servicer.Analyze(request, None).diagnostics:
            found.add((diagnostic.policyName, diagnostic.urn or record["urn"],
                       _LEVEL_NAMES[diagnostic.enforcementLevel], diagnostic.message))
    stack = proto.AnalyzeStackRequest(resources=[
        proto.AnalyzerResource(
            type=record["type"], properties=_struct(record["inputs"]), urn=record["urn"], name=record["name"],
            options=_options(record), parent=record["parent"] or "",
            propertyDependencies={key: proto.AnalyzerPropertyDependencies(urns=urns)
                                  for key, urns in record["property_dependencies"].items()},
        )
        for record in records
    ])
    for diagnostic in servicer.AnalyzeStack(stack, None).diagnostics:
        found.add((diagnostic.policyName, diagnostic.urn, _LEVEL_NAMES[diagnostic.enforcementLevel],
                   diagnostic.message))
    return found


def offline_diagnostics(records: list[dict]) -> set[tuple[str, str, str, str]]:
    # The engine prefixes a violation's message with the rule's description, but not an unknown-value note.
    return {
        (v.policy, v.urn, v.level,
         v.message if v.message.startswith("can't run policy") else f"{v.description}\n{v.message}")
        for v in evaluate(records)
    }


@pytest.mark.parametrize("rule", sorted(NON_COMPLIANT))
def test_offline_verdicts_equal_the_policy_analyzers_diagnostics(rule):
    records = NON_COMPLIANT[rule][0]()
    engine = engine_diagnostics(records)
    assert engine  # the fixture is broken, so there is something to compare
    assert offline_diagnostics(records) == engine


def test_unknown_values_give_the_analyzers_advisory_diagnostic_offline_too():
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    def make_unknown(record):
        record["inputs"]["policy"] = UNKNOWN_STRING_VALUE

    records = changed("vault-main-bucket-policy", make_unknown)
    records = [r for r in records if r["name"] != "tenant-role"] + [
        {**r, "inputs": {**r["inputs"], "name": UNKNOWN_STRING_VALUE}}
        for r in records if r["name"] == "tenant-role"
    ]
    engine = engine_diagnostics(records)
    assert {level for _p, _u, level, _m in engine} == {"advisory"}
    assert offline_diagnostics(records) == engine
