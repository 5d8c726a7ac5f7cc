"""Each stage in dvc.yaml lists exactly the project code it runs, so that a change to
that code reruns it and a change to other code does not.

"The code it runs" is every module of pipeline/ and stages/ that the stage's command
imports at module level, directly or through other modules; pipeline/models counts as
one directory dep; pipeline/errors.py and package __init__ files hold no behaviour and
are left out (as dvc.yaml's header says). Imports inside functions are not followed:
they load only on the paths that call them (params.py builds configs through
pipeline.models lazily, for the stages that train).
"""

import ast

import pytest
import yaml

from conftest import ROOT

PACKAGES = ("pipeline", "stages")


def module_path(module: str):
    path = ROOT / (module.replace(".", "/") + ".py")
    return path if path.is_file() else ROOT / module.replace(".", "/") / "__init__.py"


def imported_modules(module: str) -> set[str]:
    """The project modules ``module`` imports at module level."""
    found = set()
    for node in ast.parse(module_path(module).read_text()).body:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] in PACKAGES}
        elif isinstance(node, ast.ImportFrom) and node.module \
                and node.module.split(".")[0] in PACKAGES:
            found.add(node.module)
            for alias in node.names:  # `from pipeline import files` imports a module
                name = f"{node.module}.{alias.name}"
                if (ROOT / (name.replace(".", "/") + ".py")).is_file():
                    found.add(name)
    return found


def code_deps(module: str) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += imported_modules(current)
    deps = set()
    for path in (module_path(m).relative_to(ROOT).as_posix() for m in seen):
        if path.startswith("pipeline/models/"):
            deps.add("pipeline/models")
        elif not path.endswith("__init__.py") and path != "pipeline/errors.py":
            deps.add(path)
    return deps


STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_lists_exactly_the_code_it_imports(name):
    stage = STAGES[name].get("do", STAGES[name])  # foreach stages keep theirs under do
    commands = stage["cmd"] if isinstance(stage["cmd"], list) else [stage["cmd"]]
    modules = [command.split("python -m ")[1].split()[0] for command in commands]
    listed = {d for d in stage["deps"] if d.startswith(tuple(p + "/" for p in PACKAGES))}
    assert listed == set().union(*map(code_deps, modules))


def test_the_check_sees_a_missing_dep():
    # train's initial loss comes from pipeline/evaluate.py: without the dep, a change
    # there would leave the recorded initial loss stale
    assert "pipeline/evaluate.py" in code_deps("stages.train")
    assert "pipeline/models" in code_deps("stages.embedding")
