"""The shipped deployment (deploy/k8s, deploy/systemd, Procfile, deploy/Dockerfile) checked against the code it
runs: every Kubernetes manifest against the official schemas of a pinned Kubernetes version (offline, from the
kubernetes-validate package), every POLYFLOW_* variable against Settings (names and values), every command
line against the real CLI, every probe against a real route, every reference (selectors, Services, Secrets,
ConfigMaps, volumes) against an object that exists, and the systemd units with `systemd-analyze verify` when
it is installed. A renamed setting, option or route fails here, not in production."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import typer.main
import yaml

try:  # typer >= 0.20 carries its own copy of click
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover
    from click import UsageError

from polyflow.cli import app as cli_app
from polyflow.config import Settings
from polyflow.platform import health
from polyflow.platform.observability import PATH as METRICS_PATH
from polyflow.platform.tenancy.middleware import HOSTLESS_PATHS
from tests.fixtures.pgbouncer import read_ini

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
SYSTEMD = DEPLOY / "systemd"
PROCFILE = REPO / "Procfile"
DOCKERFILE = DEPLOY / "Dockerfile"
KUBERNETES_VERSION = "1.30.0"  # the oldest version still supported by the big providers at the time of writing
# Applied by hand, on purpose not by `kubectl apply -k` (see kustomization.yaml).
OUT_OF_BAND = {"secret.example.yaml", "migrate-job.yaml"}


def _manifests() -> list[tuple[str, dict]]:
    out = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                out.append((path.name, doc))
    return out


MANIFESTS = _manifests()
OBJECTS = [(f, d) for f, d in MANIFESTS if d["kind"] != "Kustomization"]


def _of_kind(kind: str) -> list[dict]:
    return [d for _, d in OBJECTS if d["kind"] == kind]


def _pod_specs() -> list[tuple[str, dict, dict]]:
    """(object name, pod template metadata, pod spec) of every workload."""
    out = []
    for doc in _of_kind("Deployment") + _of_kind("Job"):
        name = doc["metadata"].get("name") or doc["metadata"]["generateName"]
        out.append((name, doc["spec"]["template"]["metadata"], doc["spec"]["template"]["spec"]))
    return out


def _containers():
    for name, _, spec in _pod_specs():
        for container in spec["containers"]:
            yield name, container


def test_every_manifest_validates_against_the_pinned_kubernetes_schemas():
    assert len(OBJECTS) >= 20
    errors = []
    for filename, doc in OBJECTS:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{filename} {doc['kind']}: {'.'.join(map(str, exc.path))}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{filename}: {exc.message}")  # a kind/apiVersion this Kubernetes does not have
    assert not errors, "\n".join(errors)


def test_a_broken_manifest_is_caught():
    """The validator itself is live: a typo'd field and a wrong type are refused."""
    deployment = next(d for d in _of_kind("Deployment") if d["metadata"]["name"] == "polyflow-app")
    typo = yaml.safe_load(yaml.safe_dump(deployment))
    typo["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/readyz", "port": 8000}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(typo, KUBERNETES_VERSION, strict=True)
    wrong = yaml.safe_load(yaml.safe_dump(deployment))
    wrong["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest_but_the_ones_applied_by_hand():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files - OUT_OF_BAND
    assert len(kustomization["resources"]) == len(set(kustomization["resources"]))
    images = {i["name"] for i in kustomization["images"]}
    assert {c["image"].rsplit(":", 1)[0] for _, c in _containers() if "polyflow/polyflow" in c["image"]} == images


# -- settings -----------------------------------------------------------------------------------------
def _setting_files() -> list[Path]:
    return [*K8S.glob("*.yaml"), *SYSTEMD.iterdir(), PROCFILE, DOCKERFILE]


def test_every_polyflow_variable_named_is_a_setting():
    names: dict[str, set[str]] = {}
    for path in _setting_files():
        for name in re.findall(r"\bPOLYFLOW_[A-Z0-9_]+", path.read_text()):
            names.setdefault(name, set()).add(path.name)
    assert len(names) >= 15
    unknown = {n: sorted(f) for n, f in names.items() if n.removeprefix("POLYFLOW_").lower() not in Settings.model_fields}
    assert not unknown, f"not in polyflow.config.Settings: {unknown}"


def _env_sets() -> dict[str, dict[str, str]]:
    """Each complete environment a process gets: the ConfigMap plus the example Secret; the systemd env file."""
    config = next(d for d in _of_kind("ConfigMap") if d["metadata"]["name"] == "polyflow-config")["data"]
    secret = next(d for d in _of_kind("Secret") if d["metadata"]["name"] == "polyflow-secrets")["stringData"]
    env_file = {}
    for line in (SYSTEMD / "polyflow.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            env_file[key] = value
    return {"k8s": {**config, **secret}, "systemd": env_file}


@pytest.mark.parametrize("where", ["k8s", "systemd"])
def test_the_shipped_values_are_accepted_by_settings(where, monkeypatch):
    env = _env_sets()[where]
    for key in [k for k in __import__("os").environ if k.startswith("POLYFLOW_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()  # production: refuses, among others, the default secret key
    assert settings.env == "production"
    assert settings.database_url and settings.redis_url
    assert settings.root_domain == "polyflow.id"


# -- commands -----------------------------------------------------------------------------------------
def _command_lines() -> list[tuple[str, list[str]]]:
    out = [(name, c["command"]) for name, c in _containers() if c["command"][0] == "polyflow"]
    for unit in SYSTEMD.glob("*.service"):
        for line in unit.read_text().splitlines():
            if line.startswith("ExecStart="):
                argv = shlex.split(line.removeprefix("ExecStart="))
                assert argv[0].endswith("/polyflow"), line
                out.append((unit.name, ["polyflow", *argv[1:]]))
    for line in PROCFILE.read_text().splitlines():
        kind, _, command = line.partition(":")
        # ${VAR:-default} as the platform's shell would expand it without VAR.
        command = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", command)
        out.append((f"Procfile {kind}", shlex.split(command)))
    cmd = re.search(r"^CMD (\[.*\])$", DOCKERFILE.read_text(), re.M)
    out.append(("Dockerfile", yaml.safe_load(cmd.group(1))))
    return out


def _rest(ctx) -> list[str]:
    """What a group left for its subcommand (click 8.2+ keeps the subcommand's name apart, privately)."""
    protected = getattr(ctx, "_protected_args", None) or getattr(ctx, "protected_args", None) or []
    return [*protected, *ctx.args]


def _parse(argv: list[str]) -> list[str]:
    """Parse a `polyflow ...` command line with the real CLI (nothing runs); returns the command path."""
    command = typer.main.get_command(cli_app)
    ctx = command.make_context("polyflow", list(argv[1:]), resilient_parsing=False)
    path = []
    while hasattr(command, "resolve_command") and _rest(ctx):  # a group: on to its subcommand
        name, command, rest = command.resolve_command(ctx, _rest(ctx))
        path.append(name)
        ctx = command.make_context(name, rest, parent=ctx, resilient_parsing=False)
    return path


def test_every_command_line_parses_with_the_real_cli():
    lines = _command_lines()
    kinds = {tuple(_parse(argv)) for _, argv in lines}
    assert {("serve",), ("worker",), ("migrate",)} <= kinds, kinds
    # The production server listens where the probes, the Service and the units expect it.
    for name, container in _containers():
        if container["command"][:2] == ["polyflow", "serve"]:
            port = int(container["command"][container["command"].index("--port") + 1])
            assert [p["containerPort"] for p in container["ports"] if p["name"] == "http"] == [port], name


def test_a_renamed_option_would_be_caught():
    with pytest.raises(UsageError):
        _parse(["polyflow", "worker", "--concurency", "4"])
    with pytest.raises(UsageError):
        _parse(["polyflow", "serve", "--worker", "2"])


# -- probes and references ----------------------------------------------------------------------------
def test_probes_point_at_real_health_routes_on_a_named_port():
    routes = {route.path for route in health.router.routes}
    probes = 0
    for name, container in _containers():
        ports = {p["name"] for p in container.get("ports", [])}
        for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
            probe = container.get(kind)
            if probe is None:
                continue
            probes += 1
            action = probe.get("httpGet") or probe.get("tcpSocket")
            assert action["port"] in ports, (name, kind)
            if "httpGet" in probe:
                # Answered on any Host (the kubelet sends the pod IP), without touching a tenant.
                assert action["path"] in routes and action["path"] in HOSTLESS_PATHS, (name, kind, action["path"])
        if container["command"][:2] == ["polyflow", "serve"]:
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert probes >= 5
    for _, meta, _ in _pod_specs():
        if "prometheus.io/path" in meta.get("annotations", {}):
            assert meta["annotations"]["prometheus.io/path"] == METRICS_PATH


def _matches(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_every_reference_points_at_an_object_that_exists():
    pods = [meta["labels"] for _, meta, _ in _pod_specs()]
    services = {d["metadata"]["name"]: d for d in _of_kind("Service")}
    deployments = {d["metadata"]["name"]: d for d in _of_kind("Deployment")}
    configmaps = {d["metadata"]["name"] for d in _of_kind("ConfigMap")}
    secrets = {d["metadata"]["name"] for d in _of_kind("Secret")}
    claims = {d["metadata"]["name"] for d in _of_kind("PersistentVolumeClaim")}
    for d in deployments.values():
        assert _matches(d["spec"]["selector"]["matchLabels"], d["spec"]["template"]["metadata"]["labels"])
    for name, svc in services.items():
        if svc["spec"].get("type") != "ExternalName":
            assert sum(_matches(svc["spec"]["selector"], p) for p in pods) == 1, name
    for pdb in _of_kind("PodDisruptionBudget"):
        assert sum(_matches(pdb["spec"]["selector"]["matchLabels"], p) for p in pods) == 1, pdb["metadata"]["name"]
    for hpa in _of_kind("HorizontalPodAutoscaler"):
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments
    ingress = _of_kind("Ingress")[0]
    backends = [ingress["spec"]["defaultBackend"]] + [
        p["backend"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]]
    for backend in backends:
        svc = services[backend["service"]["name"]]
        assert backend["service"]["port"]["name"] in {p["name"] for p in svc["spec"]["ports"]}
    assert {h for t in ingress["spec"]["tls"] for h in t["hosts"]} >= {r["host"] for r in ingress["spec"]["rules"]}
    assert "*.polyflow.id" in {r["host"] for r in ingress["spec"]["rules"]}
    for name, _, spec in _pod_specs():
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in configmaps, name
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets, name
            mounts = {m["name"] for m in container.get("volumeMounts", [])}
            assert mounts <= {v["name"] for v in spec.get("volumes", [])}, name
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in configmaps, name
            if "secret" in volume:
                assert volume["secret"]["secretName"] in secrets, name
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims, name


def test_each_pgbouncer_runs_the_tested_example_in_front_of_its_server():
    """The ConfigMaps carry deploy/pgbouncer/pgbouncer.ini (the file tests/resilience/test_pgbouncer.py runs),
    with only the target server changed, and that target is a Service of the manifests."""
    example = read_ini()
    services = {d["metadata"]["name"] for d in _of_kind("Service")}
    poolers = [d for d in _of_kind("ConfigMap") if "pgbouncer.ini" in d.get("data", {})]
    assert len(poolers) >= 2
    for cm in poolers:
        ini = configparser.ConfigParser(interpolation=None, delimiters=("=",), comment_prefixes=(";", "#"))
        ini.optionxform = str
        ini.read_string(cm["data"]["pgbouncer.ini"])
        assert dict(ini["pgbouncer"]) == dict(example["pgbouncer"]), cm["metadata"]["name"]
        assert ini["pgbouncer"]["pool_mode"] == "transaction"
        target = dict(part.split("=", 1) for part in ini["databases"]["*"].split())
        assert target["host"] in services and target["host"].startswith("tenant-"), cm["metadata"]["name"]


# -- systemd ------------------------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_units_verify(tmp_path):
    """`systemd-analyze verify` with ExecStart pointed at this machine's polyflow (it checks the binary exists);
    any warning about the units fails too (it exits 0 on an unknown key)."""
    here = shutil.which("polyflow") or "/bin/true"
    units = []
    for unit in SYSTEMD.glob("*.service"):
        target = tmp_path / unit.name
        target.write_text(unit.read_text().replace("/opt/polyflow/venv/bin/polyflow", here))
        units.append(str(target))
    assert len(units) == 3
    done = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True, timeout=60)
    complaints = [line for line in (done.stdout + done.stderr).splitlines() if str(tmp_path) in line]
    assert done.returncode == 0 and not complaints, done.stdout + done.stderr
