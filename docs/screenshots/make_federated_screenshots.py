"""Regenerate federated_mid.png (the whole window playing the federated gestures story).

    QT_QPA_PLATFORM=offscreen python docs/screenshots/make_federated_screenshots.py

Opens scenarios/federated_gestures.yaml as a user would (File → Open), lets the night be
simulated, seeks to 08:30 (round 82 of 100 just aggregated) and plays a little so the
topology shows a round's messages and badges.
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
AT_S = 8 * 3600.0 + 28 * 60.0  # round 82's aggregate falls at 08:28:45


def main() -> int:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from ui.main_window import MainWindow

    window = MainWindow()
    window.resize(1620, 1000)
    window.show()
    if not window.open_path(str(ROOT / "scenarios" / "federated_gestures.yaml"), quiet=True):
        raise SystemExit("could not open scenarios/federated_gestures.yaml")

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
    wait_until(lambda: window.player.t >= AT_S + 120)
    window.player.pause()
    window._refresh_slow()
    for _ in range(10):
        app.processEvents()
        time.sleep(0.02)
    out = window.export_screenshot(str(HERE / "federated_mid.png"))
    window.close()
    print("wrote", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
