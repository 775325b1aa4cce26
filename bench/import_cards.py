"""Cards, costs and INT8 variants of imported models: the numbers of docs/import.md.

    python bench/import_cards.py

In a scratch model store: ResNet-18 and MobileNetV2 (built by our code, random weights,
exported with torch's TorchScript exporter as tests/models/test_import_reference_nets.py
does, 16 seeded-noise samples of 3 x 224 x 224 for calibration) and silero-vad (its pip
package's ONNX, 200 labelled clips of our audio generator). For each: params, MACs, bytes
and import wall time beside the published figures; latency, energy and memory fit on every
device profile (the one cost function); the INT8 variant (static QDQ, ``ptq-minmax``, for
the CNNs; ``dynamic`` for silero-vad, whose MACs are mostly in its LSTM) with its bytes and
agreement with FP32 on the samples. Host wall times come from this box (say if busy).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _export(name: str, path: Path) -> None:
    import torch

    from models.importer.reference import BUILDERS

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        torch.onnx.export(
            BUILDERS[name]().eval(),
            (torch.zeros(1, 3, 224, 224),),
            str(path),
            dynamo=False,
            opset_version=11 if name == "resnet18" else 13,
            keep_initializers_as_inputs=name == "resnet18",
            input_names=["data"],
            dynamic_axes={"data": {0: "N"}} if name == "resnet18" else None,
        )


def main() -> int:
    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="hometwin-cards-") as scratch:
        tmp = Path(scratch)
        os.environ["HOMETWIN_MODEL_STORE"] = str(tmp / "store")
        from cli.models import device_costs
        from models.importer import import_model
        from models.importer.compress import compress_imported
        from models.importer.reference import PUBLISHED
        from models.importer.vad import IMPORT_OPTIONS, silero_vad_file, vad_sequences
        from models.store import store_dir
        from simulator.recommend import devices_that_fit

        noise = np.random.default_rng(0).normal(size=(16, 3, 224, 224)).astype(np.float32)
        np.save(tmp / "noise.npy", noise)
        x, y = vad_sequences(200)
        np.save(tmp / "vad_x.npy", x)
        np.save(tmp / "vad_y.npy", y)
        jobs = []
        for name in ("resnet18", "mobilenet_v2"):
            _export(name, tmp / f"{name}.onnx")
            jobs.append(
                (name.replace("_", "-"), tmp / f"{name}.onnx", {"samples": tmp / "noise.npy"}, "ptq-minmax")
            )
        silero = {"samples": tmp / "vad_x.npy", "labels": tmp / "vad_y.npy", **IMPORT_OPTIONS}
        del silero["input_shape"]
        jobs.append(("silero-vad", silero_vad_file(), silero, "dynamic"))
        for model, path, options, recipe in jobs:
            start = time.perf_counter()
            result = import_model(path, model, devices_fit=devices_that_fit, **options)
            wall = time.perf_counter() - start
            card = result.card
            published = PUBLISHED.get(model.replace("-", "_"))
            print(f"\n## {model}  ({path.name}, imported in {wall:.2f} s wall)")
            line = f"params {card.params:,}  MACs {card.macs:,}  bytes {card.bytes:,}  peak activations {card.peak_activation_bytes:,} B"
            print(line)
            if published:
                print(
                    f"published: params {published.params:,}  MACs {published.macs:,}  ({published.source})"
                )
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                _, int8, _ = compress_imported(model, recipe, store_dir(), devices_that_fit)
            took = time.perf_counter() - start
            agreement = int8.extra["evaluation"]["agreement_with_fp32"]
            print(
                f"{recipe}: bytes {card.bytes:,} → {int8.bytes:,} ({card.bytes / int8.bytes:.2f}x), precision "
                f"{int8.precision}, agreement with fp32 {agreement:.3f} on {int8.extra['evaluation']['n']} samples "
                f"({took:.1f} s wall)"
            )
            fp32_costs = {r["device"]: r for r in device_costs(card)}
            print(
                f"{'device':<14} {'fp32 ms':>10} {'fp32 mJ':>10} {recipe + ' ms':>14} {recipe + ' mJ':>14}  fits"
            )
            for r in device_costs(int8):
                f = fp32_costs[r["device"]]
                print(
                    f"{r['device']:<14} {f['latency_ms']:>10.3f} {f['energy_mj']:>10.3f} {r['latency_ms']:>14.3f} "
                    f"{r['energy_mj']:>14.3f}  {'yes' if f['fits_memory'] else 'no'}/{'yes' if r['fits_memory'] else 'no'}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
