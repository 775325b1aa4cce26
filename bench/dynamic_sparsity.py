"""Dynamic sparsity of every zoo model: the share of its MACs that multiply an exact zero.

    python bench/dynamic_sparsity.py [--json] [--write] [--models hr_screener ...]

Measured on the held-out split of each model (``models/compress/dynamic_sparsity.py``):
a MAC whose input activation is exactly zero changes no output, so an engine that skips
zero operands saves it at zero accuracy change. Prints per model the fraction on
``lab.DYNAMIC_SPARSITY_SAMPLES`` samples and on the whole test split (the sample size the
cards use is checked here), and the device cost with and without the charge on every
profile whose engine skips zeros. ``--write`` puts the measurement on every committed card
(``extra.dynamic_sparsity``) and refreshes its ``devices_fit`` (new profiles).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from models.cards import ARTIFACTS_DIR, card_path, list_cards  # noqa: E402
from models.compress import dynamic_sparsity, lab  # noqa: E402
from models.compress.loaders import load_variant_module  # noqa: E402
from simulator.compute import estimate_card  # noqa: E402
from simulator.profiles import available_profiles, load_profile  # noqa: E402
from simulator.recommend import devices_that_fit  # noqa: E402

torch.set_num_threads(1)


def variant_graph(card, bench: lab.Workbench, root: Path) -> tuple[torch.nn.Module, str]:
    """The float graph a variant computes: its own torch module where one is stored, else the
    FP32 graph it was quantized from (ptq, dynamic, mixed; qat's fine-tuned float weights are
    not kept, so its FP32 graph stands in)."""
    runtime = card.extra.get("state_dict_runtime", card.runtime)
    if runtime in ("torch-resized", "torch-csr", "torch-early-exit"):
        if runtime == "torch-resized":
            card = type(card).from_dict(
                {**card.to_dict(), "runtime": runtime, "artifact": card.extra["state_dict"]}
            )
        return load_variant_module(card, root), "own"
    return bench.fp32, "fp32 graph" if card.variant != "fp32" else "own"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="*", default=None)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--write", action="store_true", help="write the measurement onto every committed card"
    )
    args = parser.parse_args()
    models = args.models or lab.known_models()
    skipping = [
        p
        for p in available_profiles()
        if any(e.zero_skipping_fraction for e in load_profile(p).engines.values())
    ]
    rows = []
    for model in models:
        bench = lab.open_workbench(model)
        x = bench.splits.x_test
        sample = dynamic_sparsity.measure(bench.fp32, x[: lab.DYNAMIC_SPARSITY_SAMPLES])
        whole = dynamic_sparsity.measure(bench.fp32, x)
        row = {
            "model": model,
            "macs": sum(whole.per_layer_macs.values()),
            "macs_skippable": round(sample.macs_skippable, 4),
            "macs_skippable_whole_test": round(whole.macs_skippable, 4),
            "test_samples": len(x),
            "per_layer": {k: round(v, 4) for k, v in whole.per_layer.items()},
            "variants": {},
        }
        for card in list_cards(ARTIFACTS_DIR):
            if card.model != model:
                continue
            module, graph = variant_graph(card, bench, ARTIFACTS_DIR)
            measured = dynamic_sparsity.measure(module, x[: lab.DYNAMIC_SPARSITY_SAMPLES])
            dense = {p: estimate_card(load_profile(p), card) for p in skipping}
            card.extra["dynamic_sparsity"] = {**measured.to_dict(), "graph": graph}
            charged = {p: estimate_card(load_profile(p), card) for p in skipping}
            row["variants"][card.variant] = {
                "macs_skippable": round(measured.macs_skippable, 4),
                "graph": graph,
                **{
                    f"{p}_latency_ratio": round(dense[p].latency_s / charged[p].latency_s, 4)
                    for p in skipping
                },
            }
            if args.write:
                card.devices_fit = devices_that_fit(card)
                card.save(card_path(card.model, card.variant, ARTIFACTS_DIR))
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'model':<16} {'MACs':>10} {'skippable':>10} {'whole test':>11} {'n test':>7}  per layer")
    for r in rows:
        layers = ", ".join(f"{k} {v:.2f}" for k, v in r["per_layer"].items())
        print(
            f"{r['model']:<16} {r['macs']:>10,} {r['macs_skippable']:>10.4f} {r['macs_skippable_whole_test']:>11.4f} "
            f"{r['test_samples']:>7}  {layers}"
        )
    print(f"\nvariants (skippable share; dense / charged latency on {', '.join(skipping) or 'no profile'}):")
    for r in rows:
        for variant, v in r["variants"].items():
            ratios = "  ".join(f"{p} {v[f'{p}_latency_ratio']:.3f}×" for p in skipping)
            print(f"  {r['model']:<16} {variant:<15} {v['macs_skippable']:.4f} ({v['graph']})  {ratios}")
    if args.write:
        print("\nwrote extra.dynamic_sparsity and devices_fit on every card above")
    return 0


if __name__ == "__main__":
    sys.exit(main())
