"""Layers: every import runs with the layer order, and the engine loads no heavy package.

    models  <-  simulator  <-  ui  <-  main.py, cli/, bench/, examples/, scenarios/

A module may import its own layer and the layers below it, never one above. Inside the
layers, apps are folders (``simulator/apps/X/``, ``ui/apps/X/``) that only their own
modules import: the core and the core views never import an app, and apps never import
each other. ``simulator/``
and ``models/`` never import Qt or pyqtgraph; only ``simulator/sweep/ray_backend.py`` imports
Ray. Checked statically over every import form (``import a.b``, ``from a import b``, relative
imports, imports inside functions, ``importlib.import_module``/``__import__`` of a literal, and
the module-name registries ``*_MODULES``), then by importing the engine in a subprocess.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LAYER = {"models": 0, "simulator": 1, "ui": 2, "main": 3, "cli": 3, "bench": 3, "examples": 3, "scenarios": 3}
QT = {"PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph"}
RAY_ALLOWED = {"simulator/sweep/ray_backend.py"}


def _sources() -> list[Path]:
    files = [ROOT / "main.py"]
    for package in LAYER:
        if (ROOT / package).is_dir():
            files += sorted((ROOT / package).rglob("*.py"))
    return [f for f in files if f.exists()]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(path: Path, node: ast.ImportFrom) -> list[str]:
    """Absolute module names an ``ImportFrom`` names (relative ones resolved against ``path``)."""
    if node.level == 0:
        base = node.module or ""
    else:
        package = _module_name(path).split(".")
        if path.name != "__init__.py":
            package = package[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([node.module] if node.module else []))
    # `from pkg import sub` may import the submodule pkg.sub: count both
    return [base] + [f"{base}.{alias.name}" for alias in node.names if alias.name != "*"]


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every module ``path`` imports, in any form (see the module docstring)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found += [(node.lineno, name) for name in _resolve(path, node)]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if any(name.endswith("_MODULES") for name in names) and node.value is not None:
                found += [
                    (c.lineno, c.value)
                    for c in ast.walk(node.value)
                    if isinstance(c, ast.Constant) and isinstance(c.value, str) and "." in c.value
                ]
    return found


def _violations() -> list[str]:
    problems = []
    for path in _sources():
        relative = path.relative_to(ROOT).as_posix()
        own = _module_name(path).split(".")[0]
        for line, module in imports_of(path):
            top = module.split(".")[0]
            where = f"{relative}:{line} imports {module}"
            if top in LAYER and top != own and LAYER[top] > LAYER[own]:
                problems.append(f"{where} (layer {top} is above {own})")
            if own in ("simulator", "models") and (top in QT or top == "ui"):
                problems.append(f"{where} ({own} never imports Qt or ui)")
            if top == "ray" and relative not in RAY_ALLOWED:
                problems.append(f"{where} (only {', '.join(sorted(RAY_ALLOWED))} imports ray)")
    return problems


def test_no_import_runs_against_the_layer_order():
    assert _violations() == []


def test_the_checker_sees_every_import_form(tmp_path, monkeypatch):
    """The checker must catch back-edges however they are written (else the test above is blind)."""
    package = tmp_path / "models" / "sub"
    package.mkdir(parents=True)
    (tmp_path / "models" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "bad.py").write_text(
        "import simulator.engine\n"
        "from ui import tables\n"
        "def later():\n"
        "    import importlib\n"
        "    from PySide6 import QtCore\n"
        "    importlib.import_module('scenarios')\n"
        "    import ray\n"
        "PLUGIN_MODULES = ('bench.cli',)\n"
    )
    (package / "fine.py").write_text(
        "from . import bad\nfrom .. import cards\nfrom models.cards import ModelCard\nimport numpy\n"
    )
    (tmp_path / "ui").mkdir()
    (tmp_path / "ui" / "view.py").write_text("def f():\n    from cli.core import main\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    found = _violations()
    text = "\n".join(found)
    for name in ("simulator.engine", "ui", "PySide6", "scenarios", "ray", "bench.cli"):
        assert f"imports {name}" in text, (name, text)
    assert "ui/view.py:2 imports cli.core (layer cli is above ui)" in text, text
    assert not [p for p in found if "fine.py" in p]


def _app_types(root: Path) -> list[str]:
    apps = root / "simulator" / "apps"
    return sorted(p.name for p in apps.iterdir() if (p / "__init__.py").exists()) if apps.is_dir() else []


def _app_of_module(module: str, apps: list[str]) -> str | None:
    """The app type whose package ``module`` is in (``simulator.apps.X…`` or ``ui.apps.X…``)."""
    parts = module.split(".")
    if len(parts) >= 3 and parts[0] in ("simulator", "ui") and parts[1] == "apps" and parts[2] in apps:
        return parts[2]
    return None


def _sub_layer_violations() -> list[str]:
    """Inside ``simulator/``, ``ui/``, ``cli/`` and ``models/``: only app X's own folders
    (``simulator/apps/X/``, ``ui/apps/X/``) import app X. So the core (engine, services,
    registry) never imports an app, core views never import an app's internals, and apps do
    not import each other (what they share is a core service)."""
    apps = _app_types(ROOT)
    problems = []
    for path in _sources():
        relative = path.relative_to(ROOT).as_posix()
        if relative.split("/")[0] not in ("simulator", "ui", "cli", "models"):
            continue
        own = _app_of_module(_module_name(path), apps)
        for line, module in imports_of(path):
            app = _app_of_module(module, apps)
            if app is not None and app != own:
                who = f"app {own}" if own else "the core"
                problems.append(f"{relative}:{line} imports {module} ({who} never imports app {app})")
    return problems


def test_only_an_app_imports_its_own_folders():
    assert _sub_layer_violations() == []


def test_the_sub_layer_checker_sees_core_and_cross_app_imports(tmp_path, monkeypatch):
    for folder in ("simulator/apps/a", "simulator/apps/b", "ui/apps/a"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "simulator" / "engine.py").write_text("from simulator.apps.a import App\n")
    (tmp_path / "ui" / "whatif.py").write_text("def f():\n    import ui.apps.a.panel\n")
    (tmp_path / "simulator" / "apps" / "b" / "x.py").write_text("from simulator.apps.a.records import R\n")
    (tmp_path / "ui" / "apps" / "a" / "ok.py").write_text("from simulator.apps.a import App\nfrom . import panel\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    text = "\n".join(_sub_layer_violations())
    assert "simulator/engine.py:1 imports simulator.apps.a (the core never imports app a)" in text, text
    assert "ui/whatif.py:2 imports ui.apps.a.panel (the core never imports app a)" in text, text
    assert "simulator/apps/b/x.py:1 imports simulator.apps.a.records (app b never imports app a)" in text, text
    assert "ok.py" not in text


HEAVY = ("torch", "onnxruntime", "PySide6", "shiboken6", "pyqtgraph", "ray")


def _engine_modules() -> list[str]:
    """The engine, the scenario loader, the trace, and every app module or package directly
    under ``simulator/apps/`` (what loading a scenario or a trace imports). An app's deeper
    modules may hold its torch code, imported when a model runs."""
    apps_dir = ROOT / "simulator" / "apps"
    apps = sorted(
        f"simulator.apps.{p.stem if p.suffix == '.py' else p.name}"
        for p in apps_dir.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()
    )
    return ["simulator.engine", "simulator.scenario", "simulator.trace", "simulator.apps", *apps]


def test_importing_the_engine_apps_and_scenario_loads_no_heavy_package():
    modules = _engine_modules()
    code = (
        f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
        "from simulator.apps import app_class, app_types\nfor t in app_types(): app_class(t)\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"importing {modules} loaded {result.stdout.strip()}"
