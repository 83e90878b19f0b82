"""The pure parts of OCI support: URL forms, repository names, challenges, credential files, ModelPack parsing."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from kmenv.errors import RegistryDocumentError, UsageError
from kmenv.registry.oci.auth import parse_challenge
from kmenv.registry.oci.credentials import auth_files, find_login
from kmenv.registry.oci.modelpack import (
    PublishedFile,
    VersionMetadata,
    build_config,
    build_manifest,
    layer_type,
    parse_manifest,
)
from kmenv.registry.oci.reference import OciLocation, handle_of, parse_oci_url, version_of_tag
from kmenv.spec.document import parse_spec
from kmenv.values.handles import Handle

SHA = "a" * 64


def test_url_forms() -> None:
    assert parse_oci_url("t", "oci://Registry.Example.com/team") == OciLocation("https", "registry.example.com", "team")
    assert parse_oci_url("t", "oci://registry.example.com:5000/team/models") == OciLocation(
        "https", "registry.example.com:5000", "team/models"
    )
    assert parse_oci_url("t", "oci+http://127.0.0.1:5000/ns").base == "http://127.0.0.1:5000"
    assert parse_oci_url("t", "oci+https://h/").namespace == ""
    assert parse_oci_url("t", "oci+http://127.0.0.1:5000/ns").url == "oci+http://127.0.0.1:5000/ns"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("oci://user:pw@host/ns", "holds credentials"),
        ("oci://host/ns?x=1", "query or fragment"),
        ("oci:///ns", "names no valid host"),
        ("oci://host/Bad_", "is not a valid repository path"),
        ("https://host/ns", "is not an OCI registry URL"),
    ],
)
def test_bad_urls_say_what_to_write(url: str, says: str) -> None:
    with pytest.raises(UsageError, match=says) as caught:
        parse_oci_url("team", url)
    assert "pw" not in caught.value.message


def test_repositories_are_the_lower_case_handle_under_the_namespace() -> None:
    location = parse_oci_url("t", "oci://h/ns")
    handle = Handle.parse("google/gemma/tensorFlow2/gemma_2b-en")
    assert location.repository(handle) == "ns/google/gemma/tensorflow2/gemma_2b-en"
    assert handle_of(location, "ns/google/gemma/tensorflow2/gemma_2b-en") == handle
    assert handle_of(location, "other/google/gemma/tensorflow2/x") is None
    assert handle_of(location, "ns/google/gemma") is None
    with pytest.raises(UsageError, match="cannot be part of an OCI repository name"):
        location.repository(Handle.parse("acme/bad-/pyTorch/x"))
    with pytest.raises(UsageError, match="full instances only"):
        location.repository(Handle.parse("acme/model"))


def test_only_numbered_tags_are_versions() -> None:
    assert [version_of_tag(t) for t in ("3", "12", "latest", "03", "0", "v2")] == [3, 12, None, None, None, None]


def test_challenges() -> None:
    challenge = parse_challenge(
        'Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push"'
    )
    assert challenge is not None and challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://auth.example/token",
        "service": "reg",
        "scope": "repository:a/b:pull,push",
    }
    basic = parse_challenge('Basic realm="Registry Realm"')
    assert basic is not None and basic.scheme == "basic" and basic.params["realm"] == "Registry Realm"
    assert parse_challenge("Negotiate abc") is None
    assert parse_challenge("") is None


def _write(path: Path, document: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_credential_files_are_read_in_podmans_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "auth.json"))
    for var in ("XDG_CONFIG_HOME", "DOCKER_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    assert auth_files() == [
        tmp_path / "auth.json",
        tmp_path / "run" / "containers" / "auth.json",
        tmp_path / "home" / ".config" / "containers" / "auth.json",
        tmp_path / "home" / ".docker" / "config.json",
    ]
    warnings: list[str] = []
    _write(
        tmp_path / "home" / ".docker" / "config.json", {"auths": {"https://reg:5000/v1/": {"auth": _b64("docker:d")}}}
    )
    login = find_login("reg:5000", "ns/a/b/c/d", warn=warnings.append)
    assert login is not None and (login.username, login.password) == ("docker", "d")
    assert "password" not in repr(login)
    _write(tmp_path / "run" / "containers" / "auth.json", {"auths": {"reg:5000/ns": {"auth": _b64("podman:p")}}})
    login = find_login("reg:5000", "ns/a/b/c/d", warn=warnings.append)
    assert login is not None and login.username == "podman"
    assert find_login("reg:5000", "other/a", warn=warnings.append).username == "docker"  # type: ignore[union-attr]
    (tmp_path / "auth.json").write_text("{not json")
    assert find_login("elsewhere:1", "x", warn=warnings.append) is None
    assert warnings == [
        f"{tmp_path / 'auth.json'} is not a valid credentials file (JSON object); its logins are ignored"
    ]


def test_a_missing_credential_helper_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("XDG_RUNTIME_DIR", "REGISTRY_AUTH_FILE", "XDG_CONFIG_HOME", "DOCKER_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    _write(tmp_path / ".docker" / "config.json", {"credsStore": "kmenv-absent-helper"})
    warnings: list[str] = []
    assert find_login("reg", "ns", warn=warnings.append) is None
    assert warnings == [
        f"{tmp_path / '.docker' / 'config.json'} names the credential helper "
        "docker-credential-kmenv-absent-helper, which is not installed"
    ]


def _manifest(**changes: object) -> dict[str, object]:
    published = [PublishedFile("model.safetensors", 10, SHA)]
    config = build_config("a/b/pyTorch/c", 1, published, VersionMetadata())
    metadata = VersionMetadata(handle="a/b/pyTorch/c")
    manifest: dict[str, object] = json.loads(build_manifest("b" * 64, len(config), published, metadata, 1))
    manifest.update(changes)
    return manifest


def test_kmenvs_own_manifest_parses_back() -> None:
    parsed = parse_manifest(_manifest(), "r:1")
    assert [(f.path, f.size, f.sha256) for f in parsed.files] == [("model.safetensors", 10, SHA)]
    assert parsed.complete and parsed.config_digest == "b" * 64


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"mediaType": "application/vnd.oci.image.index.v1+json"}, "not an OCI image manifest"),
        ({"artifactType": "application/vnd.example+json"}, "not a ModelPack model"),
        ({"layers": []}, "lists no layers"),
        (
            {
                "layers": [
                    {"mediaType": "application/vnd.cncf.model.weight.v1.tar+zstd", "digest": f"sha256:{SHA}", "size": 1}
                ]
            },
            r"weight\.v1\.tar\+zstd', a compression kmenv cannot unpack",
        ),
        (
            {"layers": [{"mediaType": "application/vnd.cncf.model.weight.v1.raw", "digest": "sha512:ab", "size": 1}]},
            "is not sha256:<64 hex digits>",
        ),
        (
            {
                "layers": [
                    {
                        "mediaType": "application/vnd.cncf.model.weight.v1.raw",
                        "digest": f"sha256:{SHA}",
                        "size": 1,
                        "annotations": {"org.cncf.model.filepath": "a"},
                    }
                ]
                * 2
            },
            "two layers claim the path 'a'",
        ),
        ({"annotations": {"org.kmenv.handle": "x", "org.kmenv.requires": "[1]"}}, "is not an object of specifiers"),
        ({"annotations": {"org.kmenv.requires": '{"torch": "newest"}'}}, "is not a PEP 440 specifier"),
    ],
)
def test_malformed_manifests_are_refused(changes: dict[str, object], says: str) -> None:
    with pytest.raises(RegistryDocumentError, match=says):
        parse_manifest(_manifest(**changes), "r:1")


def test_layer_types_follow_the_files_role() -> None:
    assert layer_type("model.safetensors") == "application/vnd.cncf.model.weight.v1.raw"
    assert layer_type("tokenizer/tokenizer.json") == "application/vnd.cncf.model.weight.config.v1.raw"
    assert layer_type("README.md") == "application/vnd.cncf.model.doc.v1.raw"
    assert layer_type("src/infer.py") == "application/vnd.cncf.model.code.v1.raw"


def test_an_oci_url_makes_an_oci_registry_and_types_must_agree() -> None:
    spec = parse_spec("version: 1\nregistries:\n  team:\n    url: oci://reg.example/ns\nmodels: {}\n", "kmodels.yaml")
    assert [(r.name, r.type, r.url) for r in spec.declared_registries()] == [("team", "oci", "oci://reg.example/ns")]
    from kmenv.errors import SpecError

    with pytest.raises(SpecError, match="only an OCI registry's does"):
        parse_spec("version: 1\nregistries:\n  t:\n    type: static\n    url: oci://h/ns\nmodels: {}\n", "kmodels.yaml")
    with pytest.raises(SpecError, match="only an OCI registry's does"):
        parse_spec("version: 1\nregistries:\n  t:\n    type: oci\n    url: https://h/ns\nmodels: {}\n", "kmodels.yaml")


def test_a_hosts_certs_d_folder_becomes_its_trust_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kmenv.registry.oci.tls import certs_dirs, trust_for

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    config = tmp_path / "config"
    assert trust_for("reg:5000", config) is True
    assert certs_dirs("reg:5000", config)[:2] == [
        config / "certs.d" / "reg:5000",
        tmp_path / "home" / ".config" / "containers" / "certs.d" / "reg:5000",
    ]
    podman = tmp_path / "home" / ".config" / "containers" / "certs.d" / "reg:5000"
    podman.mkdir(parents=True)
    (podman / "ca.crt").write_text("PODMAN CA\n")
    assert trust_for("reg:5000", config) == str(podman / "ca.crt")
    own = config / "certs.d" / "reg:5000"
    own.mkdir(parents=True)
    (own / "a.crt").write_text("CA ONE\n")
    (own / "b.crt").write_text("CA TWO\n")
    (own / "client.key").write_text("not a CA")
    bundle = trust_for("reg:5000", config)
    assert isinstance(bundle, str) and Path(bundle).read_text() == "CA ONE\n\nCA TWO\n"
    assert trust_for("reg:5000", config) == bundle  # the same content, the same file


@pytest.mark.parametrize(
    ("script", "warning"),
    [
        ("exit 1", None),  # "no credentials for this host"
        ("echo not-json", "answered something other than its JSON"),
        ('echo \'{"Username": "<token>", "Secret": "refresh"}\'', "holds an identity token"),
    ],
)
def test_credential_helpers_that_cannot_help(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str, warning: str | None
) -> None:
    import os
    import stat

    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("XDG_RUNTIME_DIR", "REGISTRY_AUTH_FILE", "XDG_CONFIG_HOME", "DOCKER_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    helper = tmp_path / "bin" / "docker-credential-odd"
    helper.parent.mkdir()
    helper.write_text(f"#!/bin/sh\nread host\n{script}\n")
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{helper.parent}{os.pathsep}{os.environ['PATH']}")
    _write(tmp_path / ".docker" / "config.json", {"credHelpers": {"reg": "odd"}, "auths": {"reg": {"auth": "%%"}}})
    warnings: list[str] = []
    assert find_login("reg", "ns", warn=warnings.append) is None
    if warning is None:
        assert warnings == []
    else:
        assert len(warnings) == 1 and warning in warnings[0]
    assert "refresh" not in " ".join(warnings)
