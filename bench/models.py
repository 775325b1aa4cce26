"""FP32 vs every compressed variant, measured side by side in one run.

    python bench/models.py [--json] [--models ecg_verifier camera_detector] [--make]

For each model with an FP32 card: size ratio (FP32 bytes / variant bytes), accuracy delta in
points on the held-out split, and host latency ratio at batch 64 (FP32 ms / variant ms, one
thread, both measured now). ``--make`` first (re)runs every recipe of ``models.compress``.
The ``targets`` section checks the model-lab goals against these measurements.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from models.cards import ARTIFACTS_DIR, ModelCard, list_cards  # noqa: E402
from models.compress import lab  # noqa: E402
from models.compress.loaders import load_predictor  # noqa: E402
from models.compress.recipes import RECIPES, compress  # noqa: E402
from simulator.recommend import devices_that_fit  # noqa: E402

torch.set_num_threads(1)
INT8_TARGET_MODELS = ("ecg_verifier", "camera_detector")


def measure_model(model: str, root: Path, make: bool) -> dict:
    bench = lab.open_workbench(model, root, devices_fit=devices_that_fit)
    if make:
        for recipe in RECIPES:
            with contextlib.redirect_stdout(io.StringIO()):
                compress(bench, recipe)
    cards = [c for c in list_cards(root) if c.model == model]
    fp32_card = next(c for c in cards if c.variant == "fp32")

    def predictor_of(card: ModelCard):
        with contextlib.redirect_stdout(io.StringIO()):
            return load_predictor(model, card.variant, root)

    fp32_predictor = predictor_of(fp32_card)

    def measured(card: ModelCard) -> dict:
        predictor = predictor_of(card)
        evaluation = lab.evaluate(predictor.predict_proba, bench, latency=False)
        x = bench.splits.x_test
        fp32_b1, b1 = lab.paired_latency_ms(
            [fp32_predictor.predict_proba, predictor.predict_proba], x, 1, 1.5
        )
        fp32_b64, b64 = lab.paired_latency_ms([fp32_predictor.predict_proba, predictor.predict_proba], x, 64)
        return {
            "variant": card.variant,
            "precision": card.precision,
            "runtime": card.runtime,
            "bytes": card.bytes,
            "macs": card.macs,
            "accuracy": evaluation.accuracy,
            "latency_ms_b1": b1,
            "latency_ms_b64": b64,
            "fp32_latency_ms_b64_paired": fp32_b64,
            "fp32_latency_ms_b1_paired": fp32_b1,
            "recipe": card.recipe,
            "extra": {
                k: v
                for k, v in card.extra.items()
                if k in {"exit_rate", "compute_saved", "student_alone_accuracy", "fp32_layers"}
            },
        }

    fp32 = measured(fp32_card)
    rows = []
    for card in cards:
        if card.variant == "fp32":
            continue
        row = measured(card)
        row["size_ratio"] = fp32["bytes"] / row["bytes"]
        # rounded: 21 of 2,100 samples is exactly 1 point, not 1.0000000000000009
        row["accuracy_delta_points"] = round(100 * (row["accuracy"] - fp32["accuracy"]), 9)
        # timed in alternation with fp32 (see lab.paired_latency_ms), so the ratio is like for like
        row["latency_ratio_b64"] = row["fp32_latency_ms_b64_paired"] / row["latency_ms_b64"]
        row["latency_ratio_b1"] = row["fp32_latency_ms_b1_paired"] / row["latency_ms_b1"]
        rows.append(row)
    return {"model": model, "n_test": int(len(bench.splits.y_test)), "fp32": fp32, "variants": rows}


def check_targets(results: list[dict]) -> list[dict]:
    """The model-lab goals, each with the measured numbers it rests on."""
    checks = []

    def variant(result, name):
        return next((v for v in result["variants"] if v["variant"] == name), None)

    for result in results:
        model = result["model"]
        ptq = [v for v in result["variants"] if v["variant"].startswith("ptq-")]
        best_ptq = max(ptq, key=lambda v: v["accuracy"], default=None)
        if model in INT8_TARGET_MODELS and best_ptq is not None:
            checks.append(
                {
                    "model": model,
                    "target": "static INT8: >= 3.5x smaller, <= 1 pt loss, >= 1.5x faster at b64",
                    "variant": best_ptq["variant"],
                    "met": best_ptq["size_ratio"] >= 3.5
                    and best_ptq["accuracy_delta_points"] >= -1.0
                    and best_ptq["latency_ratio_b64"] >= 1.5,
                    "measured": {
                        k: round(best_ptq[k], 3)
                        for k in ("size_ratio", "accuracy_delta_points", "latency_ratio_b64")
                    },
                }
            )
        if len(ptq) >= 2:
            accuracies = {v["variant"]: round(v["accuracy"], 4) for v in ptq}
            checks.append(
                {
                    "model": model,
                    "target": "calibration strategies differ measurably",
                    "met": len(set(accuracies.values())) > 1,
                    "measured": accuracies,
                }
            )
        minmax, mixed, qat = variant(result, "ptq-minmax"), variant(result, "mixed"), variant(result, "qat")
        if minmax and mixed:
            loss = -minmax["accuracy_delta_points"]
            checks.append(
                {
                    "model": model,
                    "target": "mixed precision recovers part of the INT8 loss (where there is one)",
                    "met": loss <= 0 or mixed["accuracy"] > minmax["accuracy"],
                    "measured": {
                        "ptq_minmax_loss_pts": round(loss, 3),
                        "mixed_loss_pts": round(-mixed["accuracy_delta_points"], 3),
                    },
                }
            )
        if minmax and qat:
            checks.append(
                {
                    "model": model,
                    "target": "QAT loss <= PTQ loss",
                    "met": qat["accuracy"] >= minmax["accuracy"],
                    "measured": {
                        "ptq_minmax_delta_pts": round(minmax["accuracy_delta_points"], 3),
                        "qat_delta_pts": round(qat["accuracy_delta_points"], 3),
                    },
                }
            )
        pruned = variant(result, "pruned50")
        if pruned:
            checks.append(
                {
                    "model": model,
                    "target": "structured pruning 50%: <= 1 pt loss, real latency gain",
                    "met": pruned["accuracy_delta_points"] >= -1.0 and pruned["latency_ratio_b64"] > 1.0,
                    "measured": {
                        k: round(pruned[k], 3)
                        for k in ("accuracy_delta_points", "latency_ratio_b64", "size_ratio")
                    },
                }
            )
        distilled, student = variant(result, "distilled"), variant(result, "student")
        if distilled and student:
            gain = 100 * (distilled["accuracy"] - student["accuracy"])
            checks.append(
                {
                    "model": model,
                    "target": "distilled student beats the same student alone by >= 1 pt",
                    "met": gain >= 1.0,
                    "measured": {
                        "gain_pts": round(gain, 3),
                        "distilled": round(distilled["accuracy"], 4),
                        "alone": round(student["accuracy"], 4),
                    },
                }
            )
        early = variant(result, "early-exit")
        if early:
            saved = early["extra"].get("compute_saved", 0.0)
            checks.append(
                {
                    "model": model,
                    "target": "early exit: >= 30% compute saved at <= 0.5 pt loss (on at least one model)",
                    "met": saved >= 0.30 and early["accuracy_delta_points"] >= -0.5,
                    "measured": {
                        "compute_saved": saved,
                        "exit_rate": early["extra"].get("exit_rate"),
                        "accuracy_delta_points": round(early["accuracy_delta_points"], 3),
                    },
                }
            )
    return checks


def format_table(results: list[dict], checks: list[dict]) -> str:
    lines = []
    for result in results:
        fp32 = result["fp32"]
        lines.append(
            f"\n{result['model']}  (fp32: {fp32['bytes']:,} B, acc {fp32['accuracy']:.4f}, "
            f"b64 {fp32['latency_ms_b64']:.3f} ms, {result['n_test']} held-out samples)"
        )
        lines.append(
            f"  {'variant':<15} {'prec':<6} {'size ratio':>10} {'acc delta':>10} {'b64 ratio':>10} {'b64 ms':>9}"
        )
        for v in result["variants"]:
            lines.append(
                f"  {v['variant']:<15} {v['precision']:<6} {v['size_ratio']:>9.2f}x {v['accuracy_delta_points']:>+8.2f}pt "
                f"{v['latency_ratio_b64']:>9.2f}x {v['latency_ms_b64']:>9.3f}"
            )
    lines.append("\ntargets")
    for check in checks:
        lines.append(
            f"  [{'met' if check['met'] else 'NOT met'}] {check['model']}: {check['target']}  {json.dumps(check['measured'])}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--models", nargs="*", default=None, help="models to bench (default: all with an fp32 card)"
    )
    parser.add_argument("--make", action="store_true", help="(re)run every compression recipe first")
    parser.add_argument("--artifacts", default=str(ARTIFACTS_DIR), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    root = Path(args.artifacts)
    available = sorted({c.model for c in list_cards(root) if c.variant == "fp32"})
    models = args.models or available
    missing = [m for m in models if m not in available]
    if missing:
        print(
            f"error: no fp32 card for {', '.join(missing)}; available: {', '.join(available)}",
            file=sys.stderr,
        )
        return 2
    results = [measure_model(m, root, args.make) for m in models]
    checks = check_targets(results)
    if args.json:
        print(json.dumps({"results": results, "targets": checks}, indent=2))
    else:
        print(format_table(results, checks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
