"""The model lab window driven as a new user would, offscreen, with what it measured.

    QT_QPA_PLATFORM=offscreen python bench/lab_window.py [--shots docs/screenshots] [--model hr_screener]

On a temporary copy of the artifacts folder (the committed zoo is never rewritten): a bad
knob (nothing written), a ``ptq-minmax`` run and a ``sparse`` run from the window (each in
its background process; the event-loop stall p99 of a 10 ms QTimer probe while it ran),
"Make variants for every device", the leaderboard. Prints a table; ``--shots`` saves the
screenshots (before → after, sensitivity, variants for every device, leaderboard, bad knob).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from models.cards import ARTIFACTS_DIR, list_cards  # noqa: E402

RUNS = (("ptq-minmax", {"calib_size": 256}), ("sparse", {"sparsity": 0.6, "epochs": 2}))


def wait(window, timeout_s: float = 600.0) -> float:
    """Run the Qt event loop (as ``app.exec`` would) until the window's recipe job ends."""
    start = time.perf_counter()
    loop = QEventLoop()
    for signal in (window.job.finished, window.job.failed, window.job.cancelled):
        signal.connect(loop.quit)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    if window.job.running:
        loop.exec()
    QApplication.processEvents()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="hr_screener")
    parser.add_argument("--shots", default=None, help="folder for the PNG screenshots")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from ui.lab.window import LabWindow

    shots = Path(args.shots) if args.shots else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)

    def shoot(window, name: str) -> None:
        app.processEvents()
        if shots:
            window.grab().save(str(shots / name))

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "artifacts"
        shutil.copytree(ARTIFACTS_DIR, root)
        window = LabWindow(root)
        window.resize(1500, 980)
        window.show()
        window.select(args.model, "sparse")
        window.set_knob("sparsity", "1.5")
        files_before = sorted(p.name for p in (root / args.model).iterdir())
        started = window.run_recipe()
        files_after = sorted(p.name for p in (root / args.model).iterdir())
        print(f"bad knob: started={started}, files unchanged={files_before == files_after}")
        print(f"  message in the window: {window.error.text()}")
        shoot(window, "lab_bad_knob.png")
        window.probe.start()  # the same probe with nothing running: the machine's own noise
        loop = QEventLoop()
        QTimer.singleShot(3000, loop.quit)
        loop.exec()
        window.probe.stop()
        print(
            f"\nidle (no recipe), 3 s: stall p99 {window.probe.p99_ms():.1f} ms, max {window.probe.max_ms():.1f} ms"
        )
        print(
            f"\n{'recipe':<12} {'variant':<12} {'wall s':>7} {'stall p99 ms':>13} {'max ms':>7} {'ticks':>6} {'show ms':>8}  acc fp32 -> variant, bytes"
        )
        for recipe, knobs in RUNS:
            window.select(args.model, recipe)
            for name, value in knobs.items():
                window.set_knob(name, value)
            assert window.run_recipe(), window.error.text()
            wall = wait(window)
            result = window.last_result
            if result is None or window.error.text():
                print(f"{recipe}: failed: {window.error.text()}")
                return 1
            stall = window.last_stall
            after = result["after"]
            print(
                f"{recipe:<12} {result['variant']:<12} {wall:>7.1f} {stall['p99_ms']:>13.1f} {stall['max_ms']:>7.1f} "
                f"{stall['ticks']:>6} {stall['show_result_ms']:>8.0f}  {result['before_accuracy']:.4f} -> {after['accuracy']:.4f}, "
                f"{result['before']['bytes']:,} -> {after['bytes']:,} B"
            )
            if recipe == "ptq-minmax":
                shoot(window, "lab_before_after.png")
            window.last_result = None
        window.tabs.setCurrentWidget(window.sensitivity)
        shoot(window, "lab_sensitivity.png")
        rows = window.make_variants()
        shoot(window, "lab_variants_every_device.png")
        print("\nvariants for every device (recommend per profile):")
        for r in rows:
            print(f"  {r['device']:<14} {r['choice'] or 'none fits'}")
        window.tabs.setCurrentWidget(window.leaderboard)
        window.leaderboard.reload()
        shoot(window, "lab_leaderboard.png")
        cards = [c for c in list_cards(root) if c.model == args.model]
        print(f"\n{len(cards)} cards of {args.model} in the lab's artifacts folder after the runs")
        window.close()
    # "use in a scenario" reads the committed artifacts (scenarios load models from there)
    # and writes nothing: the what-if edit is staged, not run
    window = LabWindow()
    window.select(args.model)
    window.make_variants()
    print(f"\nuse in a scenario: {window.use_in_scenario(args.model, 'ptq-minmax')}")
    shoot(window.main_window, "lab_use_in_scenario.png")
    window.main_window.close()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
