"""Regenerate the device-lifecycle screenshots (the whole window playing a watch's life).

    QT_QPA_PLATFORM=offscreen python docs/screenshots/make_device_lifecycle_screenshots.py

Opens "A watch's life as a digital twin" from the scenario library as a user would
(double-click), and takes:

- ``device_lifecycle_mid.png``: mid-run (the live simulation has reached day 8 only), in
  teaching mode: the watch has just adapted on its charger, the narration says how, and the
  new version is about to be backed up to the hub;
- ``device_lifecycle_migration.png``: day 26, the twin on its way watch → phone → hub →
  new watch, played slowly for a few seconds (the check that slow animation holds up);
- ``device_lifecycle_end.png``: the end of the 30 days, the whole lifeline drawn;
- ``device_lifecycle_panel.png``: the lifeline panel alone at the end, every section.
"""

from __future__ import annotations

import sys

from shots import HERE, Shots

DAY_S = 86400.0
ADAPTED_S = 7 * DAY_S + 22.5 * 3600  # night 8 on the charger, where the watch adapts
MIGRATION_S = 26 * DAY_S + 8.0  # the twin between the old watch and the hub


def main() -> int:
    shots = Shots(None)
    window, wait_until, settle = shots.window, shots.wait_until, shots.settle
    library = window.library
    items = [library.list.item(i) for i in range(library.list.count())]
    item = next(i for i in items if str(i.data(0x0100)).endswith("device_lifecycle.yaml"))
    library.list.setCurrentItem(item)
    library._open_item(item)  # what a double-click does
    if window.session is None:
        raise SystemExit("could not open scenarios/device_lifecycle.yaml")

    panel = next(iter(window.app_panels.values()))

    # mid-run: the live simulation is advanced lazily in the window up to the playhead;
    # in teaching mode the player stops at the adaptation's narration and shows it
    window.seek(ADAPTED_S - 12.0)
    wait_until(lambda: window.player.t >= ADAPTED_S - 12.0)
    window.player.set_teaching(True)
    window.player.set_speed(2)
    window.player.play()
    wait_until(lambda: not window.player.playing, timeout_s=60)
    assert not window.session.finished, "mid-run means the month is not simulated yet"
    settle()
    window.export_screenshot(str(HERE / "device_lifecycle_mid.png"))
    window.banner.button.click()  # Continue, as the teacher would
    window.player.pause()
    window.player.set_teaching(False)

    # the rest of the month in the background, then replayed
    window.session.start_background()
    wait_until(lambda: window.session.finished)
    window.seek(MIGRATION_S - 3.0)
    wait_until(lambda: window.player.t >= MIGRATION_S - 3.0)
    window.player.set_speed(1)  # slow: a few wall seconds of dots along the links
    window.player.play()
    wait_until(lambda: window.player.t >= MIGRATION_S, timeout_s=60)
    window.player.pause()
    settle()
    window.export_screenshot(str(HERE / "device_lifecycle_migration.png"))

    window.seek(window.session.duration_s)
    wait_until(lambda: window.player.t >= window.session.duration_s)
    settle()
    window.export_screenshot(str(HERE / "device_lifecycle_end.png"))

    scroll_content = panel.chart.parentWidget()
    scroll_content.grab().save(str(HERE / "device_lifecycle_panel.png"))
    window.close()
    print("wrote device_lifecycle_{mid,migration,end,panel}.png in", HERE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
