"""The real pack: `policies/__main__.py` starts the policy server with only policies/ on its path, and the
Pulumi engine's gRPC calls reach our rules."""

import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from elastio_policies import ALL_POLICIES
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc

POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="module")
def analyzer():
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    server = subprocess.Popen(
        [sys.executable, "__main__.py"], cwd=POLICIES_DIR, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        port = server.stdout.readline().strip()
        stderr = server.stderr.read() if server.poll() is not None else ""
        assert port.isdigit(), f"the pack did not start: {port!r} {stderr}"
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_pack_serves_every_rule_with_its_level(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=10)
    levels = {policy.name: policy.enforcementLevel for policy in info.policies}
    assert set(levels) == {policy.name for policy in ALL_POLICIES}
    assert levels["no-nat-gateway"] == proto.ADVISORY
    assert levels["s3-bucket-versioning"] == proto.MANDATORY


def test_pack_reports_a_violation_through_grpc(analyzer):
    properties = struct_pb2.Struct()
    json_format.ParseDict({"enableKeyRotation": False, "tags": {"elastio:resource": "true"}}, properties)
    request = proto.AnalyzeRequest(type="aws:kms/key:Key", properties=properties,
                                   urn="urn:pulumi:dev::elastio::aws:kms/key:Key::k", name="k")
    response = analyzer.Analyze(request, timeout=10)
    assert [d.policyName for d in response.diagnostics] == ["kms-key-rotation"]
