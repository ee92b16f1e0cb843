"""When the Lambda dependency layer is built, and how (pure decisions; pip is never run here)."""

from __future__ import annotations

import pytest

from components import packaging


def decide(**overrides) -> bool:
    facts = dict(mode="auto", dry_run=False, mocked=False, layer_exists=True, stamp_matches=True)
    facts.update(overrides)
    return packaging.should_build_layer(**facts)


def test_offline_plan_never_builds_even_when_forced():
    assert decide(mocked=True, mode="always", layer_exists=False) is False


def test_never_mode_skips_the_build_even_without_a_layer():
    assert decide(mode="never", layer_exists=False) is False


def test_deploy_rebuilds_when_requirements_changed():
    assert decide(dry_run=False, stamp_matches=False) is True


def test_deploy_reuses_a_layer_built_from_the_same_requirements():
    assert decide(dry_run=False, stamp_matches=True) is False


def test_preview_builds_only_when_the_layer_directory_is_missing():
    assert decide(dry_run=True, layer_exists=False) is True
    assert decide(dry_run=True, layer_exists=True, stamp_matches=False) is False


def test_unknown_mode_is_an_error_naming_the_variable_and_the_choices():
    with pytest.raises(
        packaging.PackagingError, match="ELASTIO_LAYER_BUILD='sometimes'.*auto, never, always"
    ):
        decide(mode="sometimes")


def test_pip_fetches_only_wheels_for_the_lambda_platform_and_runtime(tmp_path):
    command = packaging.pip_command(tmp_path / "python", tmp_path / "requirements.txt", python="python3")
    joined = " ".join(command)
    assert "--platform manylinux2014_x86_64" in joined and "--only-binary=:all:" in joined
    assert "--python-version 3.12" in joined and "--implementation cp" in joined
    assert command[command.index("--target") + 1] == str(tmp_path / "python")


def test_function_archive_holds_the_lambdas_folder_under_its_import_name():
    archive = packaging.function_code()
    assert list(archive.assets) == ["lambdas"]
    assert archive.assets["lambdas"].path == str(packaging.LAMBDAS_DIR)


def test_ensure_layer_does_not_build_under_mocks_whatever_the_environment(monkeypatch):
    built = []
    monkeypatch.setattr(packaging, "build_layer", built.append)
    monkeypatch.setattr(packaging, "is_mocked", lambda: True)
    monkeypatch.setenv(packaging.BUILD_ENV, "always")
    archive = packaging.ensure_layer.__wrapped__()
    assert built == [] and archive.path == str(packaging.LAYER_DIR)


def test_ensure_layer_refuses_to_deploy_a_missing_layer_it_may_not_build(monkeypatch, tmp_path):
    monkeypatch.setattr(packaging, "is_mocked", lambda: False)
    monkeypatch.setattr(packaging, "LAYER_DIR", tmp_path / "missing")
    monkeypatch.setenv(packaging.BUILD_ENV, "never")
    with pytest.raises(packaging.PackagingError, match="does not exist and ELASTIO_LAYER_BUILD=never"):
        packaging.ensure_layer.__wrapped__()


def test_ensure_layer_builds_on_deploy_when_the_layer_is_missing(monkeypatch, tmp_path):
    built = []
    monkeypatch.setattr(packaging, "build_layer", built.append)
    monkeypatch.setattr(packaging, "is_mocked", lambda: False)
    monkeypatch.setattr(packaging, "LAYER_DIR", tmp_path / "missing")
    monkeypatch.delenv(packaging.BUILD_ENV, raising=False)
    packaging.ensure_layer.__wrapped__()
    assert built == [packaging.requirements_digest()]


def test_missing_requirements_file_is_named_with_the_way_out(monkeypatch, tmp_path):
    monkeypatch.setattr(packaging, "REQUIREMENTS", tmp_path / "lambdas" / "requirements.txt")
    monkeypatch.setattr(packaging, "PROJECT_DIR", tmp_path)
    monkeypatch.setattr(packaging, "LAYER_DIR", tmp_path / "layer")
    with pytest.raises(packaging.PackagingError, match=r"requirements.txt is missing.*ELASTIO_LAYER_BUILD"):
        packaging.build_layer("digest")
    assert not (tmp_path / "layer").exists()
