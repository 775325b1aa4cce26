"""The plug-in contract: an app kept in a folder of its own (``plugin/``, found through
``$HOMETWIN_APPS_PATH``) runs, is summarized from its trace, has its CLI table and its GUI
panel — and nothing in the source tree names it."""

from __future__ import annotations

import ast
import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
PLUGIN = HERE / "plugin"
SCENARIO = HERE / "counter_home.yaml"


def _main(*argv: str, plugin: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("HOMETWIN_APPS_PATH", None)
    if plugin:
        env["HOMETWIN_APPS_PATH"] = str(PLUGIN)
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *argv], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_the_counter_runs_from_its_own_folder_and_is_summarized_from_its_trace(tmp_path):
    out = tmp_path / "run"
    done = _main("run", str(SCENARIO), "--out", str(out))
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    # 2 h at one tick per 10 min: ticks at 10, 20, …, 110 min (the run stops at 120 min)
    assert summary["counter"]["ticks"] == 11
    assert summary["counter"]["last_count"] == 11
    assert summary["counter"]["delivered"] == 11
    assert summary["counter"]["bytes_sent"] == 64 * 11
    assert "counted to 11 in 11 ticks" in done.stdout

    rebuilt = _main("summary", str(out / "trace.jsonl.gz"), "--out", str(tmp_path / "rebuilt.json"))
    assert rebuilt.returncode == 0, rebuilt.stderr
    again = json.loads((tmp_path / "rebuilt.json").read_text())
    assert again["counter"] == summary["counter"]
    assert "counted to 11 in 11 ticks" in rebuilt.stdout


def test_without_the_plugin_folder_the_counter_is_an_unknown_app(tmp_path):
    done = _main("run", str(SCENARIO), "--out", str(tmp_path / "run"), plugin=False)
    assert done.returncode == 2
    assert "'counter'" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()


def test_a_bad_counter_param_names_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCENARIO.read_text().replace("period_s: 10min", "period_s: 0s"))
    done = _main("run", str(bad), "--out", str(tmp_path / "run"))
    assert done.returncode == 2
    assert "apps[0].params.period_s" in done.stderr and "Traceback" not in done.stderr


def test_a_trace_of_the_counter_needs_the_plugin_to_be_summarized(tmp_path):
    out = tmp_path / "run"
    assert _main("run", str(SCENARIO), "--out", str(out)).returncode == 0
    done = _main("summary", str(out / "trace.jsonl.gz"), plugin=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "unknown record kind" in done.stderr and "app type 'counter' is not installed" in done.stderr


GUI_PROBE = """
import sys
from PySide6.QtWidgets import QApplication
from ui.main_window import MainWindow
app = QApplication([])
window = MainWindow()
assert window.open_path(sys.argv[1], quiet=True)
tabs = [window.app_tabs.tabText(i) for i in range(window.app_tabs.count())]
panel = window.app_tabs.widget(0)
panel.refresh(3600.0)
print(tabs, panel.label.text())
"""


def test_the_counter_has_its_panel_in_the_gui():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOMETWIN_APPS_PATH": str(PLUGIN)}
    done = subprocess.run(
        [sys.executable, "-c", GUI_PROBE, str(SCENARIO)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "['counter']" in done.stdout


def _code(path: Path) -> str:
    """The module's code without its docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            if isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                body[0] = ast.Pass()
    return ast.unparse(tree)


def test_nothing_outside_its_folders_names_the_counter():
    # the app's type as a string, its packages, its record kind, its classes, in code (the
    # docs of ui/apps may point at the example)
    names = re.compile(r"[\"']counter[\"']|apps\.counter|counter_tick|CounterPanel|Counter\.summarize")
    hits = [
        str(path.relative_to(ROOT))
        for folder in ("simulator", "ui", "cli", "models")
        for path in (ROOT / folder).rglob("*.py")
        if names.search(_code(path))
    ]
    assert not names.search(_code(ROOT / "main.py"))
    assert hits == []
    assert names.search((PLUGIN / "simulator_apps" / "counter" / "__init__.py").read_text())


def test_the_counter_trace_is_a_plain_hometwin_trace(tmp_path):
    out = tmp_path / "run"
    assert _main("run", str(SCENARIO), "--out", str(out)).returncode == 0
    with gzip.open(out / "trace.jsonl.gz", "rt") as handle:
        header = json.loads(handle.readline())
    assert header["meta"]["apps"][0]["type"] == "counter"
    assert header["meta"]["apps"][0]["params"]["period_s"] == 600.0
