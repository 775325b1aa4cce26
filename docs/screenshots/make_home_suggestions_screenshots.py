"""Regenerate home_suggestions_window.png (the whole window playing the suggestions story)
and home_suggestions_panel.png (the panel alone at the end of the week).

    QT_QPA_PLATFORM=offscreen python docs/screenshots/make_home_suggestions_screenshots.py

Opens scenarios/home_suggestions.yaml as a user would (File → Open), lets the week be
simulated, seeks to Wednesday evening on the homes' clock (the run begins Monday 18:00,
after two nights of rounds) and plays a little so the topology shows suggestions being
served.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

HERE = Path(__file__).resolve().parent
AT_S = (48 + 1) * 3600.0  # run began Mon 18:00 on the homes' clock: this is Wed 19:00
PANEL_SIZE = (820, 860)
PANEL_MEMBER = 3  # a member with suggestions on most days


def main() -> int:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from ui.main_window import MainWindow

    window = MainWindow()
    window.resize(1600, 1000)
    window.show()
    if not window.open_path(str(ROOT / "scenarios" / "home_suggestions.yaml"), quiet=True):
        raise SystemExit("could not open scenarios/home_suggestions.yaml")

    def wait_until(condition, timeout_s: float = 900.0) -> None:
        deadline = time.perf_counter() + timeout_s
        while not condition():
            if time.perf_counter() > deadline:
                raise TimeoutError("the window did not get there in time")
            app.processEvents()
            time.sleep(0.005)

    window.session.start_background()
    wait_until(lambda: window.session.finished)
    window.seek(AT_S)
    wait_until(lambda: window.player.t >= AT_S)
    window.player.set_speed(60)
    window.player.play()
    wait_until(lambda: window.player.t >= AT_S + 20 * 60)
    window.player.pause()
    window._refresh_slow()
    for _ in range(10):
        app.processEvents()
        time.sleep(0.02)
    out = window.export_screenshot(str(HERE / "home_suggestions_window.png"))
    print("wrote", out)

    from ui.apps import view_for

    panel = view_for("home_suggestions").PANEL()
    panel.resize(*PANEL_SIZE)
    panel.set_session(window.session, "home_suggestions")
    panel.show()
    panel.refresh(window.session.duration_s)
    panel.member.setCurrentIndex(PANEL_MEMBER)
    for _ in range(10):
        app.processEvents()
        time.sleep(0.02)
    path = HERE / "home_suggestions_panel.png"
    panel.grab().save(str(path))
    print("wrote", path)
    panel.close()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
