"""Train the camera, speaker and gesture models of the zoo and write their fp32 artifacts.

``python -m models.train_zoo [camera_detector keyword_spotter gesture_imu]`` writes, per model,
``models/artifacts/<model>/fp32.pt`` (the state_dict, for ``models.zoo.build(name)``),
``fp32.onnx`` (BatchNorm folded; what the runtime serves) and ``fp32.card.json`` measured on
the held-out ``test`` split. Seeded end to end: the same command gives the same weights.
The card's ``devices_fit`` comes from the caller (``python main.py train zoo`` fills it from
the device profiles; run alone, it stays empty: ``models/`` never imports the simulator).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from models import measure
from models.cards import ARTIFACTS_DIR, ModelCard
from models.quantize import export_onnx
from models.runtime import OrtPredictor, clear_cache
from models.zoo import ZOO, ZooSpec, fold_batchnorm

torch.set_num_threads(1)


@dataclass(frozen=True)
class Recipe:
    """Data sizes and optimiser settings for one model (kept small: ~4 min on one core)."""

    n_train: int
    n_val: int
    n_test: int
    epochs: int
    lr: float = 3e-3
    batch_size: int = 64
    weight_decay: float = 1e-3
    label_smoothing: float = 0.05
    hflip: bool = False  # mirror half of each batch left-right (images only)
    seed: int = 0


RECIPES: dict[str, Recipe] = {
    "camera_detector": Recipe(n_train=16_000, n_val=1_000, n_test=2_000, epochs=12, hflip=True),
    "keyword_spotter": Recipe(n_train=9_800, n_val=700, n_test=2_100, epochs=20),
    "gesture_imu": Recipe(n_train=8_400, n_val=700, n_test=2_100, epochs=20),
}


HELD_OUT = {
    "camera_detector": "test scenes from a disjoint seed stream (backgrounds, palettes, objects)",
    "keyword_spotter": "test voices use espeak-ng variants never heard in training",
    "gesture_imu": "test wearers never seen in training",
}


def _predict(model: nn.Module, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    model.eval()
    with torch.inference_mode():
        return np.concatenate(
            [model(torch.from_numpy(x[i : i + batch_size])).numpy() for i in range(0, len(x), batch_size)]
        )


def fit(spec: ZooSpec, recipe: Recipe, log=print) -> tuple[nn.Module, dict[str, np.ndarray]]:
    """Generate the data, train with one-cycle AdamW, keep the best epoch on ``val``."""
    torch.manual_seed(recipe.seed)
    t0 = time.perf_counter()
    x_train, y_train = spec.make_dataset("train", recipe.n_train, recipe.seed)
    x_val, y_val = spec.make_dataset("val", recipe.n_val, recipe.seed)
    log(f"{spec.name}: data {x_train.shape} in {time.perf_counter() - t0:.1f}s")
    model = spec.build()
    steps_per_epoch = len(x_train) // recipe.batch_size
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=recipe.lr, total_steps=recipe.epochs * steps_per_epoch, pct_start=0.2
    )
    order_rng = np.random.default_rng(recipe.seed)
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    best_acc, best_state = -1.0, None
    for epoch in range(recipe.epochs):
        model.train()
        order = torch.from_numpy(order_rng.permutation(len(x_train)))
        for step in range(steps_per_epoch):
            idx = order[step * recipe.batch_size : (step + 1) * recipe.batch_size]
            xb = xt[idx]
            if recipe.hflip:
                xb = torch.cat([xb[::2], xb[1::2].flip(-1)])
                yb = torch.cat([yt[idx][::2], yt[idx][1::2]])
            else:
                yb = yt[idx]
            loss = F.cross_entropy(model(xb), yb, label_smoothing=recipe.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        val_acc = float((_predict(model, x_val).argmax(1) == y_val).mean())
        log(
            f"  epoch {epoch + 1:2d} loss {loss.item():.3f} val {val_acc:.3f} ({time.perf_counter() - t0:.0f}s)"
        )
        if val_acc >= best_acc:
            best_acc, best_state = val_acc, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    model.eval()
    return model, {"train_wall_s": np.array(time.perf_counter() - t0), "val_accuracy": np.array(best_acc)}


def train(name: str, log=print, devices_fit: Callable[[ModelCard], list[str]] | None = None) -> ModelCard:
    """Train ``name``, write its fp32 artifacts and card, and return the card;
    ``devices_fit(card)`` fills the card's ``devices_fit`` (left empty without it)."""
    spec, recipe = ZOO[name], RECIPES[name]
    model, info = fit(spec, recipe, log)
    x_test, y_test = spec.make_dataset("test", recipe.n_test, recipe.seed)
    out = ARTIFACTS_DIR / name
    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out / "fp32.pt")
    deployed = fold_batchnorm(model)
    onnx_path = export_onnx(deployed, spec.input_shape, out / "fp32.onnx")
    card = measure.make_card(
        model=name,
        variant="fp32",
        task=spec.task,
        torch_model=deployed,
        predictor=OrtPredictor(onnx_path, spec.input_shape, spec.classes),
        artifact=onnx_path,
        x_test=x_test,
        y_test=y_test,
        recipe=(
            f"fp32 AdamW one-cycle lr={recipe.lr} epochs={recipe.epochs} n_train={recipe.n_train}"
            f" seed={recipe.seed}; BatchNorm folded"
        ),
        runtime="onnxruntime",
        extra={
            "device_kind": spec.device_kind,
            "train_wall_s": round(float(info["train_wall_s"]), 1),
            "val_accuracy": round(float(info["val_accuracy"]), 4),
            "state_dict": "fp32.pt",
            "held_out": HELD_OUT[name],
        },
    )
    card.devices_fit = devices_fit(card) if devices_fit is not None else []
    card.save(out / "fp32.card.json")
    clear_cache()
    log(f"{name}: test accuracy {card.accuracy:.4f} {card.per_class_accuracy}")
    log(
        f"  params {card.params} MACs {card.macs} bytes {card.bytes} b1 {card.latency_ms_b1} ms b64 {card.latency_ms_b64} ms"
    )
    return card


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=list(RECIPES), choices=list(RECIPES))
    args = parser.parse_args(argv)
    print("note: cards get no devices_fit here; `python main.py train` fills it from the device profiles")
    for name in args.models:
        train(name)


if __name__ == "__main__":
    main()
