"""Entry point of the GUI: ``run_gui`` (wired to ``python main.py`` and ``python main.py gui``)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

LAUNCHED_AT = time.perf_counter()


def _application():
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("HomeTwin")
    return app


def run_gui(
    scenario: str | None = None,
    play_s: float | None = None,
    speed: float = 600.0,
    screenshot: str | None = None,
    size: tuple[int, int] = (1600, 1000),
) -> int:
    """Open the window on ``scenario`` (a scenario file or saved trace; default: the shipped
    health scenario). With ``play_s`` or ``screenshot``: play for ``play_s`` wall seconds at
    ``speed``, save the screenshot, exit. Returns the process exit code (2: bad input)."""
    app = _application()
    from PySide6.QtCore import QTimer

    from ui.main_window import MainWindow

    window = MainWindow()
    window.resize(*size)
    window.show()
    app.processEvents()
    status = {"code": 0}
    scripted = play_s is not None or screenshot is not None

    def load() -> None:
        if scenario:
            if not Path(scenario).exists():
                window.show_error(f"{scenario}: no such file")
                status["code"] = 2
            elif not window.open_path(scenario):
                status["code"] = 2
        else:
            window.open_default()
        if status["code"] and scripted:
            print(f"error: {window.last_error}", file=sys.stderr)
        window.player.set_speed(speed)
        if scripted:
            window.player.play()
            QTimer.singleShot(int(1000 * (play_s or 0.0)), finish)

    def finish() -> None:
        if screenshot:
            window._refresh_slow(force=True)
            app.processEvents()
            try:
                window.export_screenshot(screenshot)
                print(f"screenshot: {screenshot}")
            except OSError as exc:
                print(f"error: {exc}", file=sys.stderr)
                status["code"] = status["code"] or 1
        window.close()
        app.exit(status["code"])

    QTimer.singleShot(0, load)
    code = app.exec()
    return status["code"] if scripted else int(code)


if __name__ == "__main__":
    sys.exit(run_gui(sys.argv[1] if len(sys.argv) > 1 else None))
