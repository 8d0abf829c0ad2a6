"""The floors of gradcli (ARCHITECTURE.md): every import in gradcli/, at module level or
inside a function, goes to the same package or down the floors, and no modules import each
other in a circle. A lazy import is allowed for start-up cost, never to hide a circle:
function-level imports are read too."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "gradcli"

# One place for the floors, bottom first. A package may import its own modules and the
# packages below it, never one above or beside it.
FLOORS = (
    ("gradcli.base",),
    ("gradcli.sources",),
    ("gradcli.lang",),
    ("gradcli.autodiff",),
    ("gradcli.aten",),
    ("gradcli.random",),
    ("gradcli.torch",),
    ("gradcli.sandbox",),
    ("gradcli.explain",),
    ("gradcli.runtime",),
    ("gradcli.checking",),
    ("gradcli.views",),
    ("gradcli.cli",),
    ("gradcli.ipython", "gradcli.__main__"),  # entry points: IPython's %load_ext, python -m
    ("gradcli",),  # the package itself: __version__ and load_ipython_extension
)


def module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


MODULES = module_names()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """gradcli modules `module` imports, wherever the import statement stands."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            targets = [f"{base}.{alias.name}" for alias in node.names]
            targets = [t if t in MODULES else base for t in targets]
        else:
            continue
        found |= {m for t in targets if t.startswith("gradcli") and (m := _resolve(t))}
    found.discard(module)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def floor_of(module: str) -> tuple[int, str]:
    best = None
    for level, prefixes in enumerate(FLOORS):
        for prefix in prefixes:
            # "gradcli" is the package's own __init__ only, not a catch-all
            if module == prefix or (prefix != "gradcli" and module.startswith(prefix + ".")):
                if best is None or len(prefix) > len(best[1]):
                    best = (level, prefix)
    assert best is not None, f"{module} is on no floor: add it to FLOORS"
    return best


def circles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for root in sorted(GRAPH):
        if root in index:
            continue
        work = [(root, iter(sorted(GRAPH[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(GRAPH[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def upward_imports() -> list[str]:
    wrong = []
    for module, targets in sorted(GRAPH.items()):
        level, package = floor_of(module)
        for target in sorted(targets):
            target_level, target_package = floor_of(target)
            if target_level > level or (target_level == level and target_package != package):
                wrong.append(f"{module} imports {target} ({target_package} is not below "
                             f"{package})")
    return wrong


def test_every_module_is_on_a_floor() -> None:
    for module in MODULES:
        floor_of(module)


def test_no_import_goes_up_or_sideways() -> None:
    wrong = upward_imports()
    assert not wrong, "\n".join(wrong)


def test_no_import_circles() -> None:
    found = circles()
    assert not found, "\n".join(" <-> ".join(c) for c in found)


def test_the_reader_sees_relative_and_function_level_imports(tmp_path) -> None:
    # the reader itself must not miss the imports a circle hides behind
    source = "def f():\n    from gradcli.cli import main\n"
    tree = ast.parse(source)
    assert any(isinstance(n, ast.ImportFrom) for n in ast.walk(tree))
    assert "gradcli.cli.main" in GRAPH["gradcli.__main__"]
    assert "gradcli.ipython" in GRAPH["gradcli"]  # imported inside load_ipython_extension


def test_no_hand_written_module_is_over_1200_lines() -> None:
    # the op table (aten/ops.py, one entry per ATen overload) and generated files aside
    exempt = {"gradcli.aten.ops", "gradcli.aten.overloads"}
    long = {m: n for m, p in MODULES.items()
            if m not in exempt and (n := len(p.read_text(encoding="utf-8").splitlines())) > 1200}
    assert not long, long
