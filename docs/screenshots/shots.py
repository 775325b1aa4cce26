"""What the screenshot scripts share: a real main window, waiting on it, playing to a time.

from shots import Shots
shots = Shots("scenarios/x.yaml")          # a 1600 × 1000 window with the scenario open
shots.replay_from(t_s, play_s=120)         # simulate it all, seek, play a little at 60×
shots.save("x_window.png")
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


class Shots:
    """A :class:`ui.main_window.MainWindow` of ``size`` with ``scenario`` open (``None``:
    nothing open; the caller opens it, e.g. from the library)."""

    def __init__(self, scenario: str | None, size: tuple[int, int] = (1600, 1000)) -> None:
        from PySide6.QtWidgets import QApplication

        self.app = QApplication.instance() or QApplication(sys.argv[:1])
        from ui.main_window import MainWindow

        self.window = MainWindow()
        self.window.resize(*size)
        self.window.show()
        if scenario is not None and not self.window.open_path(str(ROOT / scenario), quiet=True):
            raise SystemExit(f"could not open {scenario}")

    def wait_until(self, condition, timeout_s: float = 900.0) -> None:
        deadline = time.perf_counter() + timeout_s
        while not condition():
            if time.perf_counter() > deadline:
                raise TimeoutError("the window did not get there in time")
            self.app.processEvents()
            time.sleep(0.005)

    def settle(self) -> None:
        """Let the slow views refresh and the window paint."""
        self.window._refresh_slow()
        for _ in range(10):
            self.app.processEvents()
            time.sleep(0.02)

    def replay_from(self, t_s: float, play_s: float = 0.0, speed: float = 60) -> None:
        """Simulate the whole run in the background, seek to ``t_s`` and play ``play_s``."""
        window = self.window
        window.session.start_background()
        self.wait_until(lambda: window.session.finished)
        window.seek(t_s)
        self.wait_until(lambda: window.player.t >= t_s)
        if play_s > 0:
            window.player.set_speed(speed)
            window.player.play()
            self.wait_until(lambda: window.player.t >= t_s + play_s)
            window.player.pause()
        self.settle()

    def save(self, name: str) -> Path:
        """The whole window as ``docs/screenshots/<name>``."""
        out = Path(self.window.export_screenshot(str(HERE / name)))
        print("wrote", out)
        return out
