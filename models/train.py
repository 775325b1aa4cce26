"""Train, export, quantize and measure the health models: ``python main.py train health``.

Each model is a zoo entry (:data:`models.zoo.ZOO`: architecture, classes, data) with a
:class:`ModelRecipe` in :data:`RECIPES` saying how it is trained (add yours with
:func:`register`, and list its module in :data:`RECIPE_MODULES` so the command line finds it).
For every recipe :func:`build` writes to ``models/artifacts/<model>/``:

- ``fp32.pt``    trained torch state dict (unfused; ``runtime.load_torch`` rebuilds it)
- ``fp32.onnx``  BatchNorm folded, run by ONNX Runtime (faster than torch eager here)
- ``int8.onnx``  ORT static QDQ, calibrated on training inputs
- ``<variant>.card.json`` measured cards, ``data_spec.json`` how the data was made.

Which device profiles a card fits is the simulator's to say (``models/`` never imports it):
the caller passes ``devices_fit`` (``python main.py train`` does); ``python -m models.train``
alone leaves the cards' ``devices_fit`` empty.

Seeds are fixed, training uses one thread: the same command gives the same weights.
Held-out sets come from other seeds than training, i.e. other subjects and other days.
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models import measure, quantize
from models.cards import ARTIFACTS_DIR, ModelCard, card_path
from models.data import ecg, wearer
from models.runtime import OrtPredictor, Predictor, TorchPredictor, clear_cache
from models.zoo import ZOO, health
from models.zoo.health import (  # noqa: F401  (screener_dataset: re-exported for scripts and tests)
    ECG_HELDOUT_RECORDS,
    ECG_TRAIN_RECORDS,
    HELDOUT_SEED,
    SCREENER_TRAIN_DAYS,
    SCREENER_WINDOWS_PER_DAY,
    screener_dataset,
    screener_heldout_days,
)

# Modules whose import registers more recipes (model-lab: append yours).
RECIPE_MODULES: list[str] = []

DevicesFit = Callable[[ModelCard], list[str]]


@dataclass
class ModelRecipe:
    """How to train one zoo model: its group, the fit and the extra evaluation."""

    name: str  # the zoo name
    group: str  # e.g. "health": ``python main.py train health`` builds the whole group
    fit: Callable[[nn.Module, np.ndarray, np.ndarray], str]  # trains in place, returns recipe text
    heldout_seed: int = HELDOUT_SEED
    calib_size: int = 512
    calib_method: str = "minmax"
    extra_metrics: Callable[[Predictor, int], dict] | None = None  # (predictor, seed) -> dict
    data_spec: dict = field(default_factory=dict)


RECIPES: dict[str, ModelRecipe] = {}


def register(recipe: ModelRecipe) -> ModelRecipe:
    if recipe.name not in ZOO:
        raise ValueError(f"model {recipe.name!r} is not in the zoo (models.zoo.ZOO)")
    if recipe.name in RECIPES:
        raise ValueError(f"model {recipe.name!r} is registered twice")
    RECIPES[recipe.name] = recipe
    return recipe


def fit_classifier(
    model: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    seed: int,
    batch_size: int = 64,
    max_lr: float = 1e-2,
    class_weight: list[float] | None = None,
) -> str:
    """AdamW with a one-cycle schedule; deterministic for a given seed. Returns recipe text."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    steps_per_epoch = len(ys) // batch_size
    optimizer = torch.optim.AdamW(model.parameters(), lr=max_lr / 3, weight_decay=1e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr, total_steps=epochs * steps_per_epoch)
    weight = torch.tensor(class_weight, dtype=torch.float32) if class_weight else None
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(ys), generator=generator)
        for step in range(steps_per_epoch):
            batch = order[step * batch_size : (step + 1) * batch_size]
            loss = nn.functional.cross_entropy(model(xs[batch]), ys[batch], weight=weight)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    model.eval()
    weights = f", class weights {class_weight}" if class_weight else ""
    return f"AdamW one-cycle max_lr={max_lr} {epochs} ep batch {batch_size} on {len(ys)} samples{weights}"


# --- hr_screener -------------------------------------------------------------------------


def screener_metrics(predictor: Predictor, seed: int) -> dict:
    """Sensitivity, specificity and specificity in stress / exercise / sleep windows."""
    x, y, activity, kind = screener_dataset(screener_heldout_days(seed))
    predicted = predictor.predict(x)
    negatives = y == 0

    def rate(mask, value):
        return round(float((predicted[mask] == value).mean()), 5) if mask.any() else None

    result = {
        "sensitivity": rate(y == 1, 1),
        "specificity": rate(negatives, 0),
        "n_windows": int(len(y)),
        "n_suspicious": int((y == 1).sum()),
    }
    for name in ("stress", "exercise", "sleep", "rest", "commute"):
        mask = negatives & (activity == wearer.ACTIVITIES.index(name))
        result[f"specificity_{name}"] = rate(mask, 0)
        result[f"n_{name}_normal"] = int(mask.sum())
    for code, name in enumerate(wearer.RHYTHMS[1:], start=1):
        result[f"sensitivity_{name}"] = rate((y == 1) & (kind == code), 1)
    return result


register(
    ModelRecipe(
        name="hr_screener",
        group="health",
        # suspicious weighted up: the watch should miss little, the phone's ECG filters
        fit=lambda m, x, y: fit_classifier(
            m, x, y, epochs=8, seed=0, batch_size=128, class_weight=[1.0, 4.0]
        ),
        extra_metrics=screener_metrics,
        data_spec={
            "generator": "models.data.wearer.random_day(seed, n_episodes=1..4)",
            "train_day_seeds": [SCREENER_TRAIN_DAYS.start, SCREENER_TRAIN_DAYS.stop],
            "heldout_day_seeds": "1_000_000 * seed + range(150)",
            "windows_per_day": SCREENER_WINDOWS_PER_DAY,
            "window": "wearer.screening_windows(day, t, window_s=300): (3+1 channels, 60 steps of 5 s)",
            "channels": list(wearer.SCREEN_CHANNELS),
            "label": "suspicious if >= 60 s of an episode in the window; 1-59 s left out",
        },
    )
)


# --- ecg_verifier ------------------------------------------------------------------------


def verifier_metrics(predictor: Predictor, seed: int) -> dict:
    """Confusion on held-out ectopy-rich wearers (rows: true class, columns: predicted, both
    in the predictor's class order) and how often premature beats alone would be escalated."""
    x, y = health.ectopy_rich_strips(seed)
    predicted = predictor.predict(x)
    classes = list(predictor.classes)
    confusion = np.zeros((len(ecg.CLASSES), len(classes)), np.int64)
    np.add.at(confusion, (y, predicted), 1)
    escalated = [classes.index(c) for c in ecg.ESCALATED if c in classes]
    ectopy_rows = y == ecg.CLASSES.index("ectopy")
    return {
        "ectopy_rich_confusion": {
            "rows_true": list(ecg.CLASSES),
            "columns_predicted": classes,
            "counts": confusion.tolist(),
        },
        "ectopy_rich_accuracy": round(float((predicted == y).mean()), 5),
        "ectopy_escalated_rate": round(float(np.isin(predicted[ectopy_rows], escalated).mean()), 5),
    }


register(
    ModelRecipe(
        name="ecg_verifier",
        group="health",
        fit=lambda m, x, y: fit_classifier(m, x, y, epochs=10, seed=0, batch_size=64),
        extra_metrics=verifier_metrics,
        data_spec={
            "generator": "models.data.ecg.make_dataset(n, seed)",
            "fs_hz": ecg.FS_HZ,
            "window_s": ecg.WINDOW_S,
            "train": {"records": ECG_TRAIN_RECORDS, "seed": 0, "subjects": ECG_TRAIN_RECORDS // 20},
            "heldout": {"records": ECG_HELDOUT_RECORDS, "seed": "1000 + seed"},
            "hr_range_bpm": {k: list(v) for k, v in ecg.HR_RANGE_BPM.items()},
            "label": (
                "AF by rhythm; otherwise realised rate: > 100 tachycardia, < 50 bradycardia; "
                "a normal rate with premature beats in the window: ectopy"
            ),
            "ectopy": (
                "PVCs (wide QRS, no P, compensatory pause) and PACs (abnormal P, non-compensatory "
                "pause), isolated / couplets / bigeminy at 8-35 % burden; also on 20 % of the "
                "tachycardia, bradycardia and AF records"
            ),
            "ectopy_rich_heldout": (
                f"{health.ECTOPY_RICH_WEARERS} wearer days of stream seed (2_000_000 + 1000 * seed + i), "
                f"burden {list(health.ECTOPY_RICH_BURDEN)}, {health.ECTOPY_RICH_STRIPS_PER_WEARER} strips each"
            ),
        },
    )
)


# --- build -------------------------------------------------------------------------------


def build(
    name: str,
    root: Path = ARTIFACTS_DIR,
    log: Callable[[str], None] = print,
    devices_fit: DevicesFit | None = None,
) -> list[ModelCard]:
    """Train ``name`` from scratch and write its artifacts and cards under ``root/name``;
    ``devices_fit(card)`` fills each card's ``devices_fit`` (left empty without it)."""
    recipe = RECIPES[name]
    spec = ZOO[name]
    out = Path(root) / name
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    torch.set_num_threads(1)
    torch.manual_seed(0)

    x_train, y_train = spec.make_dataset("train", None, 0)
    x_test, y_test = spec.make_dataset("test", None, recipe.heldout_seed)
    log(
        f"[{name}] data: {len(y_train)} train, {len(y_test)} held-out ({time.perf_counter() - started:.0f} s)"
    )
    model = spec.build()
    fit_text = recipe.fit(model, x_train, y_train)
    log(f"[{name}] trained ({time.perf_counter() - started:.0f} s)")
    torch.save(model.state_dict(), out / "fp32.pt")
    fused = health.fuse_for_export(model)
    fp32_path = quantize.export_onnx(fused, spec.input_shape, out / "fp32.onnx")
    calib = x_train[np.random.default_rng(0).permutation(len(x_train))[: recipe.calib_size]]
    int8_path = quantize.quantize_static(fp32_path, calib, out / "int8.onnx", method=recipe.calib_method)

    torch_predictor = TorchPredictor(fused, spec.input_shape, spec.classes)
    torch_latency = {
        "torch_eager_latency_ms_b1": round(
            measure.host_latency_ms(torch_predictor, spec.input_shape, 1, 200), 4
        ),
        "torch_eager_latency_ms_b64": round(
            measure.host_latency_ms(torch_predictor, spec.input_shape, 64), 4
        ),
    }
    variants = {
        "fp32": (fp32_path, f"{fit_text}; BatchNorm folded; ONNX fp32", torch_latency),
        "int8": (
            int8_path,
            f"{fit_text}; ptq-static ORT QDQ {recipe.calib_method} per-channel "
            f"w=int8 a=uint8 (bias fp32 in file) calib={len(calib)} training inputs",
            {},
        ),
    }
    cards = []
    for variant, (path, recipe_text, extra) in variants.items():
        predictor = OrtPredictor(path, spec.input_shape, spec.classes)
        if recipe.extra_metrics is not None:
            extra = {**extra, **recipe.extra_metrics(predictor, recipe.heldout_seed)}
        card = measure.make_card(
            model=name,
            variant=variant,
            task=spec.task,
            torch_model=fused,
            predictor=predictor,
            artifact=path,
            x_test=x_test,
            y_test=y_test,
            recipe=recipe_text,
            runtime="onnxruntime",
            extra={"heldout_seed": recipe.heldout_seed, **extra},
        )
        card.devices_fit = devices_fit(card) if devices_fit is not None else []
        card.save(card_path(name, variant, Path(root)))
        cards.append(card)
    described = {"model": name, "classes": list(spec.classes), "input_shape": list(spec.input_shape)}
    (out / "data_spec.json").write_text(json.dumps({**described, **recipe.data_spec}, indent=2) + "\n")
    clear_cache()
    log(f"[{name}] done in {time.perf_counter() - started:.0f} s")
    return cards


def format_cards(cards: list[ModelCard]) -> str:
    header = (
        f"{'model':<14} {'variant':<7} {'params':>7} {'MACs':>9} {'bytes':>8} {'peak act B':>10} "
        f"{'acc':>7} {'b1 ms':>7} {'b64 ms':>7}  per class"
    )
    rows = [header, "-" * len(header)]
    for c in cards:
        per_class = " ".join(f"{k}={v:.3f}" for k, v in c.per_class_accuracy.items())
        rows.append(
            f"{c.model:<14} {c.variant:<7} {c.params:>7} {c.macs:>9} {c.bytes:>8} {c.peak_activation_bytes:>10} "
            f"{c.accuracy:>7.4f} {c.latency_ms_b1:>7.3f} {c.latency_ms_b64:>7.3f}  {per_class}"
        )
    return "\n".join(rows)


def _import_recipes() -> None:
    for module in RECIPE_MODULES:
        importlib.import_module(module)


def groups() -> dict[str, list[str]]:
    """Group name -> the models it trains (after importing :data:`RECIPE_MODULES`)."""
    _import_recipes()
    found: dict[str, list[str]] = {}
    for name, recipe in RECIPES.items():
        found.setdefault(recipe.group, []).append(name)
    return found


def train(
    names: list[str], devices_fit: DevicesFit | None = None, log: Callable[[str], None] = print
) -> list[ModelCard]:
    """Build each of ``names`` (see :func:`build`), print the cards and the screening metrics."""
    cards = [card for name in dict.fromkeys(names) for card in build(name, log=log, devices_fit=devices_fit)]
    log(format_cards(cards))
    for card in cards:
        screening = {k: v for k, v in card.extra.items() if k.startswith(("sensitivity", "specificity"))}
        if screening:
            log(f"{card.model}/{card.variant}: {screening}")
    return cards


def main(argv: list[str] | None = None) -> int:
    found = groups()
    parser = argparse.ArgumentParser(prog="python -m models.train", description=__doc__.splitlines()[0])
    parser.add_argument(
        "targets", nargs="*", default=["all"], help=f"all, a group ({', '.join(found)}) or model names"
    )
    args = parser.parse_args(argv)
    names: list[str] = []
    for target in args.targets:
        if target == "all":
            names += list(RECIPES)
        elif target in found:
            names += found[target]
        elif target in RECIPES:
            names.append(target)
        else:
            parser.error(
                f"unknown target {target!r}; expected all, {', '.join(found)} or {', '.join(RECIPES)}"
            )
    print("note: cards get no devices_fit here; `python main.py train` fills it from the device profiles")
    train(names)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
