"""Regenerate federated_mid.png (the whole window playing the federated gestures story).

    QT_QPA_PLATFORM=offscreen python docs/screenshots/make_federated_screenshots.py

Opens scenarios/federated_gestures.yaml as a user would (File → Open), lets the night be
simulated, seeks to 08:28 (round 82 of 100 is about to aggregate) and plays two minutes so
the topology shows a round's messages and badges.
"""

from __future__ import annotations

import sys

from shots import Shots

AT_S = 8 * 3600.0 + 28 * 60.0  # round 82's aggregate falls at 08:28:45


def main() -> int:
    shots = Shots("scenarios/federated_gestures.yaml", size=(1620, 1000))
    shots.replay_from(AT_S, play_s=120)
    shots.save("federated_mid.png")
    shots.window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
