"""Retake the smart-home screenshots (run from the repo root)."""

import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.getcwd())
from PySide6.QtWidgets import QApplication

app = QApplication.instance() or QApplication([])
from simulator.apps.smart_home import ChainHop, ChainStage, DeployPlan  # noqa: E402 (after QApplication)
from ui.main_window import MainWindow  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"


def wait(cond, timeout=120.0):
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
# open from the scenario library, as a user would
lib = w.library
row = next(i for i, p in enumerate(lib.paths()) if p.endswith("smart_home.yaml"))
lib.list.setCurrentRow(row)
print("library item:", lib.list.item(row).text(), "|", lib.description.text()[:80])
t0 = time.time()
lib._open_item(lib.list.currentItem())
wait(lambda: w.session is not None and w.session.spec is not None)
print("opened from the library in", round(time.time() - t0, 1), "s; title:", w.windowTitle())
tabs = w.app_tabs
print("app tabs:", [tabs.tabText(i) for i in range(tabs.count())])


def at(t):
    w.seek(t)
    wait(
        lambda: abs(w.player.t - t) < 1e-6 and w.session.trace.records and w.session.trace.records[-1].t >= t,
        300,
    )
    w._refresh_slow(force=True)
    panel = tabs.currentWidget()
    if panel is not None:
        panel.refresh(t)
    for _ in range(20):
        app.processEvents()


# run the session to the end once so the records are there
w.seek(14 * 3600 - 1)
wait(lambda: w.session.finished, 600)
recs = w.session.trace.records
plan = next(r for r in recs if type(r) is DeployPlan and r.role == "serving")
hop = next(
    r
    for r in recs
    if type(r) is ChainHop
    and r.chain == "doorbell"
    and r.stage_to == "confirm"
    and r.status == "delivered"
    and r.t > plan.t + 600
)
announce = next(
    r
    for r in recs
    if type(r) is ChainStage and r.chain == "doorbell" and r.run == hop.run and r.outcome == "action"
)
print("deploy at", plan.t, "hop", hop.t, hop.end_t, "announce", announce.t, announce.detail)
at(plan.t + 0.02)
w.export_screenshot(f"{OUT}/smart_home_deploy.png")
at((hop.t + hop.end_t) / 2)
w.export_screenshot(f"{OUT}/smart_home_chain_mid_event.png")
at(announce.t + 0.5)
w.export_screenshot(f"{OUT}/smart_home_chain_announced.png")

# teaching mode: from the start, the player stops at each narration step
w.seek(0.0)
wait(lambda: w.player.t == 0.0)
w.set_teaching(True)
w.player.set_speed(600)
w.player.play()
steps = []
for _ in range(3):
    wait(lambda: w.banner.isVisible(), 300)
    assert not w.player.playing
    steps.append((round(w.player.t, 1), w.banner.text.text()[:70]))
    if len(steps) == 2:
        w._refresh_slow(force=True)
        for _ in range(10):
            app.processEvents()
        w.export_screenshot(f"{OUT}/smart_home_teaching.png")
    w.banner.button.click()
    assert w.player.playing
    for _ in range(3):
        app.processEvents()
print("teaching steps:", steps)
w.close()
