"""The speaker's voice gate: keyword-model calls and speaker energy per day with each gate.

    python bench/vad_gate.py [--n 400] [--until 14h]

Runs ``scenarios/smart_home_vad.yaml`` once per gate (``apps.home.params.voice_gate``):
the loudness rule, silero-vad FP32, silero-vad dynamic INT8 and no gate (the keyword model
then listens to every second), and prints keyword calls per day, the speaker's energy per
day, the gate's own load and the voice chain's recall. Then silero-vad's speech / non-speech
accuracy on ``--n`` clips of our audio generator (held-out voices) for both variants and the
INT8 variant's agreement with FP32, beside the loudness rule's on the same clips. silero-vad
comes from the model store (``$HOMETWIN_MODEL_STORE``), imported from its pip package on
first use. Energy is simulated device energy (the one cost function), never host time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCENARIO = ROOT / "scenarios" / "smart_home_vad.yaml"
GATES = ("loudness", "silero-vad", "silero-vad:dynamic", "none")


# A loud home: the TV and room noise ten times as often as in the shipped night.
LOUD = {"apps.home.params.tv_per_hour": 60.0, "apps.home.params.noise_per_hour": 20.0}


def night(gate: str, until: str | None, extra: dict | None = None) -> dict:
    from simulator.engine import Simulation

    overrides = {"apps.home.params.voice_gate": gate, **(extra or {})}
    if until:
        overrides["duration"] = until
    return Simulation.from_file(SCENARIO, overrides=overrides).run().summary()["home"]


def accuracy(n: int) -> list[tuple[str, float, float | None]]:
    from models import runtime
    from models.importer.vad import ensure_imported, vad_clips, windows_of
    from simulator.apps.smart_home.gating import voice_activity
    from simulator.recommend import devices_that_fit

    clips, labels = vad_clips(n, seed=1)
    x = windows_of(clips)
    loud = voice_activity(clips) >= 2.0  # the scenario's vad_ratio
    rows = [("loudness rule (ratio ≥ 2.0)", float(np.mean(loud == labels)), None)]
    reference = None
    for variant in ("fp32", "dynamic"):
        ensure_imported("silero-vad", variant, devices_that_fit)
        speech = runtime.load("silero-vad", variant).predict_proba(x)[:, 1] >= 0.5
        agree = None if reference is None else float(np.mean(speech == reference))
        reference = speech if reference is None else reference
        rows.append((f"silero-vad {variant} (score ≥ 0.5)", float(np.mean(speech == labels)), agree))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="labelled clips for the accuracy table")
    parser.add_argument(
        "--until", default=None, help="shorter nights, e.g. 2h (default: the scenario's 14 h)"
    )
    args = parser.parse_args()
    for title, extra in (("the shipped night", None), ("a loud night (TV 60/h, noise 20/h)", LOUD)):
        print(f"\n{title}")
        print(
            f"{'gate':<20} {'keyword calls/day':>18} {'speaker kJ/day':>15} {'gate J/day':>11} "
            f"{'gated/heard':>12} {'voice recall':>13} {'precision':>10}"
        )
        for gate in GATES:
            start = time.perf_counter()
            home = night(gate, args.until, extra)
            g, voice = home["voice_gate"], home["chains"]["voice"]
            precision = "—" if voice["precision"] is None else f"{voice['precision']:.2f}"
            print(
                f"{gate:<20} {g['keyword_calls_per_day']:>18,.1f} {g['speaker_energy_j_per_day'] / 1e3:>15.3f} "
                f"{g['gate_energy_j_per_day']:>11.1f} {str(voice['gated']) + '/' + str(voice['inputs']):>12} "
                f"{voice['recall']:>13.2f} {precision:>10}   ({time.perf_counter() - start:.1f} s wall)"
            )
    print(f"\nspeech / non-speech on {args.n} clips of our audio generator (held-out voices, half speech)")
    print(f"{'detector':<32} {'accuracy':>9} {'agreement with fp32':>20}")
    for name, acc, agree in accuracy(args.n):
        print(f"{name:<32} {acc:>9.3f} {'—' if agree is None else f'{agree:.3f}':>20}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
