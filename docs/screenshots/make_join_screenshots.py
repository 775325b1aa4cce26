"""Regenerate join_playing.png and join_seek_back.png (a device joining mid-run).

    QT_QPA_PLATFORM=offscreen python docs/screenshots/make_join_screenshots.py

The shipped health scenario, re-run with a what-if addition: a smart speaker (bringing its
keyword spotter) joins at 19:00 with a Wi-Fi link to the phone and leaves at 22:00. The
first picture is taken while playing just after the join, the second after seeking back to
18:00, where the speaker is not drawn.
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
JOIN_S = 19 * 3600.0


def main() -> int:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from ui.main_window import MainWindow
    from ui.session import RunSpec, Session

    window = MainWindow()
    window.resize(1600, 1000)
    window.show()
    spec = RunSpec(
        scenario_file=str(ROOT / "scenarios" / "health_escalation.yaml"),
        extra_devices=[
            {
                "name": "speaker",
                "profile": "speaker",
                "position": [0.0, 0.8],
                "models": {"keyword_spotter": "ptq-entropy"},
            }
        ],
        extra_links=[{"name": "speaker-phone", "type": "wifi", "a": "speaker", "b": "phone"}],
        extra_events=[
            {"at": "19h", "type": "device_join", "device": "speaker", "reason": "guest brings a speaker"},
            {"at": "22h", "type": "device_leave", "device": "speaker", "reason": "guest leaves"},
        ],
    )
    window.set_session(Session.from_spec(spec))

    def wait_until(condition, timeout_s: float = 300.0) -> None:
        deadline = time.perf_counter() + timeout_s
        while not condition():
            if time.perf_counter() > deadline:
                raise TimeoutError("the window did not get there in time")
            app.processEvents()
            time.sleep(0.005)

    window.session.start_background()  # the day is simulated in another process, then replayed
    wait_until(lambda: window.session.finished)
    window.seek(JOIN_S - 60)
    wait_until(lambda: window.player.t >= JOIN_S - 60)
    window.player.set_speed(30)
    window.player.play()
    wait_until(lambda: window.player.t >= JOIN_S + 25)
    window.inspect_device("speaker")
    wait_until(lambda: window.player.t >= JOIN_S + 30)
    window._refresh_slow()
    app.processEvents()
    window.export_screenshot(str(HERE / "join_playing.png"))
    window.player.pause()
    window.seek(18 * 3600.0)
    wait_until(lambda: window.player.t == 18 * 3600.0)
    for _ in range(20):  # a few frames so every view has drawn the jump
        app.processEvents()
        time.sleep(0.02)
    window._refresh_slow()
    app.processEvents()
    window.export_screenshot(str(HERE / "join_seek_back.png"))
    window.close()
    print("wrote", HERE / "join_playing.png", HERE / "join_seek_back.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
