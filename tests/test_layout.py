"""The package reads as a pipeline: problem -> landscapes -> dynamics -> critical -> stability ->
claims -> report -> experiments -> cli, and imports flow one way (a layer imports only itself and
the layers before it), checked on every import statement of ``verify/``, at module level and
inside functions alike, with the few deferred upward imports listed here with their reason."""

from __future__ import annotations

import ast
from pathlib import Path

import verify

PACKAGE = Path(verify.__file__).resolve().parent
LAYERS = ["errors", "problem", "landscapes", "dynamics", "critical", "stability", "claims", "report",
          "experiments", "cli"]
#: top-level modules and the layer they sit in
TOP = {"errors": "errors", "strategies": "claims", "testing": "claims", "cli": "cli", "__main__": "cli",
       "__init__": "cli"}
#: deferred (in-function) upward imports, each with why it is there
ALLOWED = {
    ("problem.problem", "landscapes.np"): "Problem.np(): the float64 landscape of a problem, built when asked",
    ("problem.problem", "landscapes.mp"): "Problem.mp(dps)",
    ("problem.problem", "landscapes.exact"): "Problem.exact()",
    ("stability.stability", "report.plot"): "the figure of `verify stability --plot`",
}


def _layer(module: str) -> str:
    head = module.split(".")[0]
    return TOP.get(head, head)


def _imports(path: Path, module: str) -> list[str]:
    tree = ast.parse(path.read_text())
    pkg = module.rsplit(".", 1)[0] if "." in module else ""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if node.module and node.module.startswith("verify."):
                    out.append(node.module[len("verify."):])
                continue
            base = pkg.split(".") if pkg else []
            base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
            target = ".".join([*base, node.module] if node.module else base)
            if node.module is None:
                out += [".".join([*base, a.name]) for a in node.names if a.name != "__version__"]
            elif target:
                out.append(target)
        elif isinstance(node, ast.Import):
            out += [a.name[len("verify."):] for a in node.names if a.name.startswith("verify.")]
    return out


def test_every_module_sits_in_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        assert _layer(module) in LAYERS, f"{module}: not in a layer of {LAYERS}"


def test_imports_flow_one_way() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        mine = LAYERS.index(_layer(module))
        for target in _imports(path, module):
            if LAYERS.index(_layer(target)) > mine and (module, target) not in ALLOWED:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "upward imports:\n" + "\n".join(wrong)


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "flow.py"
    bad.write_text("def f():\n    from ..claims.engine import check\n")
    assert _imports(bad, "dynamics.flow") == ["claims.engine"]


def test_public_names_resolve() -> None:
    for name in verify.__all__:
        assert getattr(verify, name) is not None, name
