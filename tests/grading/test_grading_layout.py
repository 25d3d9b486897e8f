"""grading/'s layout, read from its source with ``ast`` (nothing is imported or run).

- no import cycle among grading's modules, function-local imports included;
- no private name (``_name``) imported across a module boundary, nor used as ``module._name``;
- every package has a docstring (what it owns, what it never does) and an ``__all__``.

The checkers are tried on small packages written for the purpose first, so that each one is seen to fail.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _modules(package: Path) -> dict:
    """{dotted name: path} of every module of ``package`` (a package's own name is its ``__init__.py``)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _imports(name: str, path: Path, modules: dict):
    """(line, imported module, names taken from it) of every import in the module ``name``, at any depth."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                child = f"{base}.{alias.name}"
                if child in modules:  # ``from package import module``
                    yield node.lineno, child, []
                else:
                    yield node.lineno, base, [alias.name]


def import_graph(package: Path) -> dict:
    """{module: {modules of the same package it imports}}."""
    modules = _modules(package)
    return {name: {target for _, target, _ in _imports(name, path, modules) if target in modules and target != name}
            for name, path in modules.items()}


def cycles(graph: dict) -> list:
    """Every import cycle of ``graph``, each as a list of modules (the first one repeated at the end)."""
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                found.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def private_imports(package: Path) -> list:
    """``file:line: what`` for every private name one module takes from another (by import or ``module._name``)."""
    modules = _modules(package)
    top = package.name
    found = []
    for name, path in modules.items():
        module_names = {}
        tree = ast.parse(path.read_text(), str(path))
        for line, target, names in _imports(name, path, modules):
            if target == name or target.split(".")[0] not in (top, "gradedlib"):
                continue
            where = f"{path.relative_to(package.parent)}:{line}"
            if any(_private(part) for part in target.split(".")):
                found.append(f"{where}: imports the private module {target}")
            found += [f"{where}: imports {target}.{n}" for n in names if _private(n)]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    if f"{node.module}.{alias.name}" in modules:
                        module_names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname and alias.name in modules:
                        module_names[alias.asname] = alias.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in module_names and _private(node.attr)):
                found.append(f"{path.relative_to(package.parent)}:{node.lineno}: uses "
                             f"{module_names[node.value.id]}.{node.attr}")
    return sorted(set(found))


def packages_without_a_surface(package: Path) -> list:
    """Packages whose ``__init__.py`` lacks a docstring or an ``__all__``, with what is missing."""
    found = []
    for init in sorted(package.rglob("__init__.py")):
        tree = ast.parse(init.read_text(), str(init))
        has_all = any(isinstance(node, (ast.Assign, ast.AnnAssign))
                      and any(isinstance(t, ast.Name) and t.id == "__all__"
                              for t in (node.targets if isinstance(node, ast.Assign) else [node.target]))
                      for node in tree.body)
        missing = [what for what, ok in (("a docstring", ast.get_docstring(tree)), ("__all__", has_all)) if not ok]
        if missing:
            found.append(f"{init.parent.relative_to(package.parent)}: no {' and no '.join(missing)}")
    return found


def _write(root: Path, files: dict) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root / "pkg"


def test_the_checkers_find_what_they_look_for(tmp_path):
    package = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.b import f\n",
        "pkg/b.py": "def f():\n    from pkg import a  # a function-local import closes the loop\n",
        "pkg/sub/__init__.py": '"""A docstring, no __all__."""\n',
        "pkg/sub/c.py": "from ..a import _hidden\nfrom pkg.sub import d\nx = d._secret\nimport gradedlib._validation\n",
        "pkg/sub/d.py": "_secret = 1\n",
    })
    assert cycles(import_graph(package)) == [["pkg.a", "pkg.b", "pkg.a"]]
    found = private_imports(package)
    assert any("imports pkg.a._hidden" in f for f in found), found
    assert any("uses pkg.sub.d._secret" in f for f in found), found
    assert any("private module gradedlib._validation" in f for f in found), found
    assert packages_without_a_surface(package) == ["pkg: no a docstring and no __all__", "pkg/sub: no __all__"]


def test_no_import_cycle_among_grading_modules():
    found = cycles(import_graph(ROOT / "grading"))
    assert not found, "import cycles: " + "; ".join(" -> ".join(c) for c in found)


def test_no_private_name_crosses_a_module_boundary():
    found = private_imports(ROOT / "grading")
    assert not found, "\n".join(found)


def test_every_package_says_what_it_owns_and_has_a_surface():
    found = packages_without_a_surface(ROOT / "grading")
    assert not found, "\n".join(found)


#: Class paths that courses' nbgrader_config.py files name, before the move -> where the class lives now.
OLD_CLASS_PATHS = {
    "grading.nbgrader_plugins.SandboxedExecute": "grading.plugins.execute.SandboxedExecute",
    "grading.nbgrader_plugins.HideHiddenTests": "grading.plugins.execute.HideHiddenTests",
    "grading.sanitize_preprocessor.SanitizeNotebook": "grading.plugins.sanitize.SanitizeNotebook",
    "grading.stderr_streams.StderrAsStdout": "grading.plugins.stderr_streams.StderrAsStdout",
    "grading.feedback_page.OfflineFeedbackPage": "grading.plugins.feedback_page.OfflineFeedbackPage",
    "grading.feedback_page.TEMPLATE_FOLDER": "grading.plugins.feedback_page.TEMPLATE_FOLDER",
    "grading.feedback_ungraded.MarkUngradedAnswers": "grading.plugins.feedback_ungraded.MarkUngradedAnswers",
    "grading.export_plugin.CheckedCsvExport": "grading.plugins.export.CheckedCsvExport",
    "grading.late.PercentPerDayLatePenalty": "grading.plugins.late.PercentPerDayLatePenalty",
    "grading.canvas_collect.CanvasCollector": "grading.plugins.canvas_collect.CanvasCollector",
    "grading.canvas_collect.CanvasExtractor": "grading.plugins.canvas_collect.CanvasExtractor",
}


def _named(path: str):
    import importlib

    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_old_class_paths_of_course_configs_still_work():
    for old, new in OLD_CLASS_PATHS.items():
        assert _named(old) is _named(new), old


def test_the_repository_config_names_the_new_paths():
    text = (ROOT / "nbgrader_config.py").read_text()
    old_modules = {path.rpartition(".")[0] for path in OLD_CLASS_PATHS}
    assert not [m for m in old_modules if f"from {m} import" in text]
