"""Retake the placement screenshots (run from the repo root): the stressed home's chain view
with a split detector, and the what-if's before → after of a placement-policy switch."""

import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.getcwd())
from PySide6.QtWidgets import QApplication

app = QApplication.instance() or QApplication([])
from simulator.apps.smart_home import ChainStage, Placed  # noqa: E402 (after QApplication)
from ui.main_window import MainWindow  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"
COMPARE_T = 3 * 3600.0  # 21:00


def wait(cond, timeout=300.0):
    end = time.time() + timeout
    while not cond():
        app.processEvents()
        time.sleep(0.005)
        if time.time() > end:
            raise TimeoutError
    for _ in range(5):
        app.processEvents()


w = MainWindow()
w.resize(1600, 1000)
w.show()
app.processEvents()
assert w.open_path("scenarios/smart_home_stressed.yaml")
wait(lambda: w.session is not None and w.session.spec is not None)


def at(t):
    w.seek(t)
    wait(lambda: abs(w.player.t - t) < 1e-6 and w.session.frontier() >= t)
    w._refresh_slow(force=True)
    panel = w.app_tabs.currentWidget()
    if panel is not None:
        panel.refresh(t)
    for _ in range(20):
        app.processEvents()


# 1. before → after: at 21:00, the indoor camera's detector split at layer 4 (head on the
# camera, tail on the hub) and the porch camera's kept local, instead of min-latency
at(COMPARE_T)
w.whatif.set_placement("home", "indoor", 0, "split", "hub", 4)
w.whatif.set_placement("home", "porch", 0, "local")
w.whatif._emit_rerun()
wait(lambda: getattr(w, "last_comparison", None), 600)
print(w.last_comparison)
tab = next(i for i in range(w.left_tabs.count()) if w.left_tabs.tabText(i) == "What-if")
w.left_tabs.setCurrentIndex(tab)
at(COMPARE_T)
scroll = w.left_tabs.currentWidget()
if hasattr(scroll, "ensureWidgetVisible"):  # the what-if tab scrolls: show the edits and the result
    scroll.ensureWidgetVisible(w.whatif.result)
    for _ in range(10):
        app.processEvents()
w.export_screenshot(f"{OUT}/placement_whatif_before_after.png")

# 2. the chain view at a moment the indoor chain's latest run is lit, its detector split
records = w.session.trace.records
split = [r for r in records if type(r) is Placed and r.source == "camera" and 0 < r.split < r.n_layers]
runs = [
    r
    for r in records
    if type(r) is ChainStage and r.chain == "indoor" and r.stage == "detect" and r.run and r.t > 600
]
moment = next(r for r in runs if any(p.t == r.t for p in split))
porch = [r for r in records if type(r) is ChainStage and r.chain == "porch" and r.run and r.t < moment.t]
print("indoor run", moment.run, "at", moment.t, "; porch runs before:", len(porch))
w.left_tabs.setCurrentIndex(0)
at(moment.t + 0.5)
w.export_screenshot(f"{OUT}/placement_chain_split.png")
# the chain view alone, wider than the dock
from ui.apps.smart_home import SmartHomePanel  # noqa: E402

panel = SmartHomePanel()
panel.resize(760, 1000)
panel.show()
panel.set_session(w.session, "home")
panel.refresh(moment.t + 0.5)
for _ in range(10):
    app.processEvents()
panel.grab().save(f"{OUT}/placement_chain_view.png")
panel.close()
w.close()
