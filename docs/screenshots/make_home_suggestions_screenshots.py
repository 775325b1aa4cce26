"""Regenerate home_suggestions_window.png (the whole window playing the suggestions story)
and home_suggestions_panel.png (the panel alone at the end of the week).

    QT_QPA_PLATFORM=offscreen python docs/screenshots/make_home_suggestions_screenshots.py

Opens scenarios/home_suggestions.yaml as a user would (File → Open), lets the week be
simulated, seeks to Wednesday evening on the homes' clock (the run begins Monday 18:00,
after two nights of rounds) and plays a little so the topology shows suggestions being
served.
"""

from __future__ import annotations

import sys
import time

from shots import HERE, Shots

AT_S = (48 + 1) * 3600.0  # run began Mon 18:00 on the homes' clock: this is Wed 19:00
PANEL_SIZE = (820, 860)
PANEL_MEMBER = 3  # a member with suggestions on most days


def main() -> int:
    shots = Shots("scenarios/home_suggestions.yaml")
    shots.replay_from(AT_S, play_s=20 * 60)
    shots.save("home_suggestions_window.png")

    from ui.apps import view_for

    window, app = shots.window, shots.app
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
