"""Conda environments: every env file parses and pins, pins agree with constraints.txt (the one
source of truth for versions), every rule runs in an existing env, and that env holds every
third-party package the rule's script imports (directly or through `genogan`), so `--sdm conda`
works.

conda channels are not reachable here, so nothing is solved or installed: the checks are static
plus a load of the real workflow through Snakemake's API.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent / "slurm"))
from genogan_workdir import ROOT, SNAKEFILE, snakemake_cmd  # noqa: E402

ENV_DIR = ROOT / "envs"
ENV_FILES = sorted(ENV_DIR.glob("*.yaml"))
CONSTRAINTS = ROOT / "constraints.txt"
SRC = ROOT / "src"

# Conda packages that are command-line tools or C libraries, not pip-installed Python packages:
# exempt from the constraints.txt comparison.
BINARY_TOOLS = {"python", "minimap2", "bwa", "bwa-mem2", "samtools", "bcftools", "htslib",
                "jellyfish", "pigz", "cudatoolkit", "cuda-version", "cudnn"}
# conda name -> pip name where they differ (after PEP 503 normalisation).
CONDA_TO_PIP: dict[str, str] = {}
# Packages conda-forge does not carry at the pip pin: the newest conda-forge build instead (checked
# against the conda-forge feedstocks: tensorflow-feedstock 2.19.1 with CUDA 12.8 builds,
# keras-feedstock 3.15.0). Each entry must differ from constraints.txt, or it is stale.
CONDA_FORGE_VERSIONS = {"tensorflow": "2.19.1", "keras": "3.15.0"}
# import name -> conda package that provides it.
IMPORT_TO_PACKAGE = {
    "numpy": "numpy", "pandas": "pandas", "pyarrow": "pyarrow", "scipy": "scipy",
    "sklearn": "scikit-learn", "imblearn": "imbalanced-learn", "matplotlib": "matplotlib",
    "pysam": "pysam", "mappy": "mappy", "Bio": "biopython", "yaml": "pyyaml",
    "dnaio": "dnaio", "xopen": "xopen",
    "jsonschema": "jsonschema", "tensorflow": "tensorflow", "keras": "keras",
}
# Modules that come with a pinned package as its own dependency: import name -> packages that
# bring it (any one in the env is enough).
DEPENDENCY_OF = {
    "threadpoolctl": ("threadpoolctl", "scikit-learn"), "joblib": ("joblib", "scikit-learn"),
    "h5py": ("h5py", "keras", "tensorflow"), "packaging": ("packaging", "matplotlib"),
}
# Importable without being in the env: Snakemake puts its own package on the script's sys.path.
PROVIDED = {"snakemake", "genogan", "_bootstrap", "__future__"}
SPEC = re.compile(r"^(?:[\w.-]+::)?(?P<name>[A-Za-z0-9_.-]+)\s*(?P<op>==?)\s*(?P<version>[^=\s]+)"
                  r"(?:=[^=\s]+)?$")


def normalise(name: str) -> str:
    """PEP 503 name normalisation, so PyYAML == pyyaml and imbalanced_learn == imbalanced-learn."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_env(path: Path) -> dict[str, str]:
    """Map package name -> pinned version for a conda env file (conda and pip: entries).

    Raises AssertionError naming the file and entry for anything unpinned or malformed."""
    env = yaml.safe_load(path.read_text())
    assert isinstance(env, dict), f"{path.name}: not a YAML mapping"
    assert env.get("channels"), f"{path.name}: no `channels:` list"
    deps = env.get("dependencies")
    assert isinstance(deps, list) and deps, f"{path.name}: no `dependencies:` list"
    pins: dict[str, str] = {}
    for dep in deps:
        entries = dep.get("pip", []) if isinstance(dep, dict) else [dep]
        for entry in entries:
            m = SPEC.match(str(entry).strip())
            assert m, (f"{path.name}: dependency {entry!r} is not pinned as name=version "
                       "(or name==version under pip:)")
            pins[normalise(m["name"])] = m["version"]
    return pins


def read_constraints(path: Path = CONSTRAINTS) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned with =="
            pins[normalise(name)] = version.strip()
    return pins


def version_problems(env_pins: dict[str, str], constraints: dict[str, str]) -> list[str]:
    """Every Python package in an env must have the same version in constraints.txt."""
    problems = []
    for name, version in sorted(env_pins.items()):
        if name in BINARY_TOOLS:
            continue
        pip_name = CONDA_TO_PIP.get(name, name)
        if name in CONDA_FORGE_VERSIONS:
            if version != CONDA_FORGE_VERSIONS[name]:
                problems.append(f"{name}={version}: conda-forge's build is "
                                f"{CONDA_FORGE_VERSIONS[name]} (CONDA_FORGE_VERSIONS)")
        elif pip_name not in constraints:
            problems.append(f"{name}={version} is not in constraints.txt (add it there, or to "
                            "BINARY_TOOLS in tests/test_envs.py if it is not a Python package)")
        elif constraints[pip_name] != version:
            problems.append(f"{name}={version} but constraints.txt has {pip_name}=="
                            f"{constraints[pip_name]}")
    return problems


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_env_file_parses_and_pins_every_package(env_file):
    pins = parse_env(env_file)
    assert "python" in pins, f"{env_file.name}: python is not pinned"


def test_the_expected_rule_group_envs_exist():
    assert {p.stem for p in ENV_FILES} >= {"align", "gan", "ml"}


def test_envs_agree_on_python():
    pythons = {p.name: parse_env(p)["python"] for p in ENV_FILES}
    assert len(set(pythons.values())) == 1, f"envs pin different pythons: {pythons}"


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_env_versions_match_constraints(env_file):
    problems = version_problems(parse_env(env_file), read_constraints())
    assert not problems, f"{env_file.name}:\n  " + "\n  ".join(problems)


def test_version_check_catches_a_drifted_pin(tmp_path):
    env = tmp_path / "drift.yaml"
    env.write_text("channels: [conda-forge]\ndependencies:\n  - python=3.11\n  - numpy=1.26.4\n"
                   "  - samtools=1.21\n  - pip:\n    - PyYAML==0.1\n  - leftpad=1.0\n")
    pins = parse_env(env)
    assert pins == {"python": "3.11", "numpy": "1.26.4", "samtools": "1.21", "pyyaml": "0.1",
                    "leftpad": "1.0"}
    problems = version_problems(pins, {"numpy": "2.4.6", "pyyaml": "6.0.4"})
    assert problems == [
        "leftpad=1.0 is not in constraints.txt (add it there, or to BINARY_TOOLS in "
        "tests/test_envs.py if it is not a Python package)",
        "numpy=1.26.4 but constraints.txt has numpy==2.4.6",
        "pyyaml=0.1 but constraints.txt has pyyaml==6.0.4",
    ]


def test_unpinned_dependency_is_reported(tmp_path):
    env = tmp_path / "loose.yaml"
    env.write_text("channels: [conda-forge]\ndependencies:\n  - python=3.11\n  - pandas\n")
    with pytest.raises(AssertionError, match=r"loose.yaml: dependency 'pandas' is not pinned"):
        parse_env(env)


# ---------------------------------------------------------------- rules of the real workflow

RULES_SCRIPT = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import OutputSettings, ResourceSettings
with SnakemakeApi(OutputSettings()) as api:
    wf = api.workflow(resource_settings=ResourceSettings(), snakefile=Path(sys.argv[1]),
                      workdir=Path(sys.argv[2]))
    rules = [dict(name=r.name, conda=r.conda_env, basedir=str(r.basedir), norun=r.norun,
                  script=r.script, run=r.run_func is not None and not r.is_shell
                  and r.script is None and not r.norun)
             for r in wf._workflow.rules]
print("RULES-JSON " + json.dumps(rules))
"""


@pytest.fixture(scope="module")
def rules(tiny_workdir):
    """The workflow's rules as Snakemake itself loads them (in a subprocess: the API changes the
    working directory and the logging setup)."""
    proc = subprocess.run([sys.executable, "-c", RULES_SCRIPT, str(SNAKEFILE), str(tiny_workdir)],
                          capture_output=True, text=True, timeout=120)
    line = [x for x in proc.stdout.splitlines() if x.startswith("RULES-JSON ")]
    assert proc.returncode == 0 and line, f"could not load the workflow:\n{proc.stderr[-3000:]}"
    return json.loads(line[0].removeprefix("RULES-JSON "))


def test_every_rule_runs_in_an_existing_env(rules):
    assert len(rules) > 1
    problems = []
    for rule in rules:
        if rule["norun"]:  # target-only rules such as `all` run nothing
            continue
        if not rule["conda"]:
            problems.append(f"rule {rule['name']} has no `conda:` directive")
            continue
        path = (Path(rule["basedir"]) / rule["conda"]).resolve()
        if not path.is_file():
            problems.append(f"rule {rule['name']}: conda env {rule['conda']} -> {path} missing")
        elif path.parent != ENV_DIR:
            problems.append(f"rule {rule['name']}: env {path} is not one of envs/*.yaml")
        if rule["run"]:
            problems.append(f"rule {rule['name']} uses `run:`, which ignores conda envs; use "
                            "`script:`")
    assert not problems, "\n".join(problems)


def _module_file(module: str) -> Path | None:
    """The source file of a `genogan` module (package __init__ or module file), if any."""
    base = SRC.joinpath(*module.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _is_optional(node: ast.AST, parents: dict) -> bool:
    """Imports inside `try: ... except ImportError` or `if TYPE_CHECKING:` are optional."""
    while node in parents:
        parent = parents[node]
        if isinstance(parent, ast.Try) and node in parent.body:
            for handler in parent.handlers:
                names = handler.type
                text = ast.unparse(names) if names is not None else ""
                if "ImportError" in text or "ModuleNotFoundError" in text:
                    return True
        if isinstance(parent, ast.If) and "TYPE_CHECKING" in ast.unparse(parent.test):
            return True
        node = parent
    return False


def _imports(path: Path, package: str) -> set[str]:
    """Absolute module names imported anywhere in `path` (also inside functions: a rule may call
    them), except optional ones. `package` resolves relative imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and not _is_optional(node, parents):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not _is_optional(node, parents):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # maybe submodules
    return found


def third_party_imports(script: Path) -> set[str]:
    """Top-level names of third-party modules a workflow script needs, following `_bootstrap` and
    every `genogan` module it reaches."""
    todo = [(script, "")]
    seen_files: set[Path] = set()
    needed: set[str] = set()
    while todo:
        path, package = todo.pop()
        if path in seen_files:
            continue
        seen_files.add(path)
        for module in _imports(path, package):
            top = module.split(".")[0]
            if top == "_bootstrap":
                todo.append((script.parent / "_bootstrap.py", ""))
            elif top == "genogan":
                parts = module.split(".")
                for i in range(1, len(parts) + 1):  # the package __init__s run too
                    f = _module_file(".".join(parts[:i]))
                    if f is not None:
                        pkg = ".".join(parts[:i]) if f.name == "__init__.py" else ".".join(
                            parts[: i - 1])
                        todo.append((f, pkg))
            elif top and top not in sys.stdlib_module_names and top not in PROVIDED:
                needed.add(top)
    return needed


def test_import_scan_follows_genogan_modules():
    """The scanner reaches third-party imports through genogan (features.py imports pyarrow)."""
    script = ROOT / "workflow" / "scripts" / "feature_matrix.py"
    assert {"numpy", "pandas", "pyarrow"} <= third_party_imports(script)


def test_import_scan_skips_optional_imports_and_finds_nested_ones(tmp_path):
    script = tmp_path / "fake_rule.py"
    script.write_text("import os\nfrom genogan.errors import GenoganInputError\n"
                      "try:\n    import mappy\nexcept ImportError:\n    mappy = None\n\n"
                      "def train():\n    import tensorflow as tf\n    from sklearn import svm\n")
    assert third_party_imports(script) == {"tensorflow", "sklearn"}


def test_each_rule_env_provides_what_its_script_imports(rules):
    problems = []
    for rule in rules:
        if not rule["script"] or not rule["conda"]:
            continue
        script = (Path(rule["basedir"]) / rule["script"]).resolve()
        if not script.is_file():
            problems.append(f"rule {rule['name']}: script {script} missing")
            continue
        env_path = (Path(rule["basedir"]) / rule["conda"]).resolve()
        if not env_path.is_file():
            continue  # reported by test_every_rule_runs_in_an_existing_env
        env = parse_env(env_path)
        for module in sorted(third_party_imports(script)):
            providers = ((IMPORT_TO_PACKAGE[module],) if module in IMPORT_TO_PACKAGE
                         else DEPENDENCY_OF.get(module))
            if providers is None:
                problems.append(f"rule {rule['name']}: {script.name} needs module {module!r}, "
                                "unknown to IMPORT_TO_PACKAGE in tests/test_envs.py")
            elif not any(normalise(p) in env for p in providers):
                problems.append(f"rule {rule['name']}: {script.name} imports {module} but "
                                f"envs/{env_path.name} lacks {providers[0]}")
    assert not problems, "\n".join(problems)


def test_workflow_is_lint_clean(tiny_workdir):
    proc = subprocess.run(snakemake_cmd(tiny_workdir, "--lint"), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, f"snakemake --lint:\n{proc.stdout[-4000:]}{proc.stderr[-4000:]}"


# ---------------------------------------------------------------- container recipe (static only:
# there is no Docker daemon here, so the image is not built by the tests)

def dockerfile_instructions(path: Path = ROOT / "Dockerfile") -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, comments dropped and `\\` continuations joined."""
    text = re.sub(r"\\\n", " ", "\n".join(
        line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")))
    out = []
    for line in text.splitlines():
        if line.strip():
            op, _, args = line.strip().partition(" ")
            out.append((op.upper(), " ".join(args.split())))
    return out


def dockerignored() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [x.strip().rstrip("/") for x in lines if x.strip() and not x.startswith("#")]


def test_dockerfile_uses_the_envs_python_and_the_constraints():
    steps = dockerfile_instructions()
    base = [args for op, args in steps if op == "FROM"]
    python = parse_env(ENV_DIR / "ml.yaml")["python"]
    assert len(base) == 1 and base[0].startswith(f"python:{python}-"), base
    runs = " ".join(args for op, args in steps if op == "RUN")
    assert re.search(r"pip install -c constraints\.txt \.(\s|$)", runs), runs
    copied = [args.split() for op, args in steps if op == "COPY"]
    sources = {src for parts in copied for src in parts[:-1] if not src.startswith("--")}
    assert {"constraints.txt", "pyproject.toml", "src"} <= sources


def test_dockerfile_installs_the_align_env_binaries():
    """The image carries the same command-line tools as envs/align.yaml."""
    tools = set(parse_env(ENV_DIR / "align.yaml")) & BINARY_TOOLS - {"python"}
    runs = " ".join(args for op, args in dockerfile_instructions() if op == "RUN")
    apt = re.search(r"apt-get install ([^&;]+)", runs)
    assert apt, "no apt-get install in the Dockerfile"
    assert tools <= set(apt[1].split()), f"{tools - set(apt[1].split())} missing from apt-get"


def test_dockerfile_copies_exist_and_are_not_ignored():
    ignored = dockerignored()
    for op, args in dockerfile_instructions():
        if op != "COPY":
            continue
        for src in [s for s in args.split()[:-1] if not s.startswith("--")]:
            assert (ROOT / src).exists(), f"COPY {src}: not in the repository"
            assert src not in ignored, f"COPY {src}: excluded by .dockerignore"
    assert {".venv", ".git", "results", ".snakemake"} <= set(ignored)


def test_conda_forge_exceptions_are_real_differences():
    """An exception that equals the pip pin is stale: drop it so the pins agree again."""
    constraints = read_constraints()
    for name, version in CONDA_FORGE_VERSIONS.items():
        assert constraints[name] != version, f"{name}: conda-forge now matches; drop the exception"
