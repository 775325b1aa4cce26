"""Train, export, quantize and measure models: ``python -m models.train [health|all|<model> ...]``.

Each model is a :class:`ModelRecipe` in :data:`REGISTRY` (add yours with :func:`register`,
and list its module in :data:`RECIPE_MODULES` so the command line finds it). For every
recipe :func:`build` writes to ``models/artifacts/<model>/``:

- ``fp32.pt``    trained torch state dict (unfused; ``runtime.load_torch`` rebuilds it)
- ``fp32.onnx``  BatchNorm folded, run by ONNX Runtime (faster than torch eager here)
- ``int8.onnx``  ORT static QDQ, calibrated on training inputs
- ``<variant>.card.json`` measured cards, ``data_spec.json`` how the data was made.

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
from models.compress.lab import devices_that_fit
from models.data import ecg, wearer
from models.runtime import OrtPredictor, Predictor, TorchPredictor, clear_cache
from models.zoo import health

# Modules whose import registers more recipes (model-lab: append yours).
RECIPE_MODULES: list[str] = []


@dataclass
class ModelRecipe:
    """How to make one model: data, architecture, training and extra evaluation."""

    name: str
    group: str  # e.g. "health": ``python -m models.train health`` builds the whole group
    task: str
    classes: tuple[str, ...]
    input_shape: tuple[int, ...]
    build_model: Callable[[], nn.Module]
    training_data: Callable[[], tuple[np.ndarray, np.ndarray]]
    heldout_data: Callable[[int], tuple[np.ndarray, np.ndarray]]  # seed -> (x, y)
    fit: Callable[[nn.Module, np.ndarray, np.ndarray], str]  # trains in place, returns recipe text
    heldout_seed: int = 1
    calib_size: int = 512
    calib_method: str = "minmax"
    extra_metrics: Callable[[Predictor, int], dict] | None = None  # (predictor, seed) -> dict
    data_spec: dict = field(default_factory=dict)


REGISTRY: dict[str, ModelRecipe] = {}


def register(recipe: ModelRecipe) -> ModelRecipe:
    if recipe.name in REGISTRY:
        raise ValueError(f"model {recipe.name!r} is registered twice")
    REGISTRY[recipe.name] = recipe
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

SCREENER_TRAIN_DAYS = range(0, 400)
SCREENER_WINDOWS_PER_DAY = 300
SCREENER_HELDOUT_DAYS = 150


def screener_dataset(day_seeds, windows_per_day: int = SCREENER_WINDOWS_PER_DAY):
    """Windows at uniform random times of generated days: ``(x, y, activity_at_t, kind)``.

    Each day has 1-4 episodes; ambiguous windows (under 60 s of episode) are left out.
    ``kind`` is the episode rhythm code in the window (0 when none).
    """
    xs, ys, activities, kinds = [], [], [], []
    for seed in day_seeds:
        rng = np.random.default_rng([seed, 1])
        day = wearer.random_day(int(seed), n_episodes=int(rng.integers(1, 5)))
        times = rng.uniform(300.0, wearer.DAY_S, windows_per_day)
        labels = wearer.screening_labels(day, times)
        keep = labels >= 0
        xs.append(wearer.screening_windows(day, times[keep]))
        ys.append(labels[keep].astype(np.int64))
        activities.append(day.activity[day.index_at(times[keep])])
        index = wearer.window_index(day, times[keep], 300.0)
        kinds.append(day.rhythm[index].max(axis=1))
    return tuple(np.concatenate(a) for a in (xs, ys, activities, kinds))


def _screener_heldout_seeds(seed: int) -> range:
    start = 1_000_000 * seed
    return range(start, start + SCREENER_HELDOUT_DAYS)


def screener_metrics(predictor: Predictor, seed: int) -> dict:
    """Sensitivity, specificity and specificity in stress / exercise / sleep windows."""
    x, y, activity, kind = screener_dataset(_screener_heldout_seeds(seed))
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


def _screener_training_data():
    x, y, _, _ = screener_dataset(SCREENER_TRAIN_DAYS)
    return x, y


def _screener_heldout(seed: int):
    x, y, _, _ = screener_dataset(_screener_heldout_seeds(seed))
    return x, y


register(
    ModelRecipe(
        name="hr_screener",
        group="health",
        task="watch heart-rate screening over 5 min of PPG HR + wrist motion: normal vs suspicious",
        classes=health.SCREENER_CLASSES,
        input_shape=health.SCREENER_INPUT_SHAPE,
        build_model=health.HRScreener,
        training_data=_screener_training_data,
        heldout_data=_screener_heldout,
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

ECG_TRAIN_RECORDS = 20000
ECG_HELDOUT_RECORDS = 4000

register(
    ModelRecipe(
        name="ecg_verifier",
        group="health",
        task="phone 10 s single-lead ECG rhythm: normal / tachycardia / bradycardia / af",
        classes=health.VERIFIER_CLASSES,
        input_shape=health.VERIFIER_INPUT_SHAPE,
        build_model=health.ECGVerifier,
        training_data=lambda: ecg.make_dataset(ECG_TRAIN_RECORDS, seed=0)[:2],
        heldout_data=lambda seed: ecg.make_dataset(ECG_HELDOUT_RECORDS, seed=1000 + seed)[:2],
        fit=lambda m, x, y: fit_classifier(m, x, y, epochs=10, seed=0, batch_size=64),
        data_spec={
            "generator": "models.data.ecg.make_dataset(n, seed)",
            "fs_hz": ecg.FS_HZ,
            "window_s": ecg.WINDOW_S,
            "train": {"records": ECG_TRAIN_RECORDS, "seed": 0, "subjects": ECG_TRAIN_RECORDS // 20},
            "heldout": {"records": ECG_HELDOUT_RECORDS, "seed": "1000 + seed"},
            "hr_range_bpm": {k: list(v) for k, v in ecg.HR_RANGE_BPM.items()},
            "label": "AF by rhythm; otherwise realised rate: > 100 tachycardia, < 50 bradycardia",
        },
    )
)


# --- build -------------------------------------------------------------------------------


def build(name: str, root: Path = ARTIFACTS_DIR, log: Callable[[str], None] = print) -> list[ModelCard]:
    """Train ``name`` from scratch and write its artifacts and cards under ``root/name``."""
    recipe = REGISTRY[name]
    out = Path(root) / name
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    torch.set_num_threads(1)
    torch.manual_seed(0)

    x_train, y_train = recipe.training_data()
    x_test, y_test = recipe.heldout_data(recipe.heldout_seed)
    log(
        f"[{name}] data: {len(y_train)} train, {len(y_test)} held-out ({time.perf_counter() - started:.0f} s)"
    )
    model = recipe.build_model()
    fit_text = recipe.fit(model, x_train, y_train)
    log(f"[{name}] trained ({time.perf_counter() - started:.0f} s)")
    torch.save(model.state_dict(), out / "fp32.pt")
    fused = health.fuse_for_export(model)
    fp32_path = quantize.export_onnx(fused, recipe.input_shape, out / "fp32.onnx")
    calib = x_train[np.random.default_rng(0).permutation(len(x_train))[: recipe.calib_size]]
    int8_path = quantize.quantize_static(fp32_path, calib, out / "int8.onnx", method=recipe.calib_method)

    torch_predictor = TorchPredictor(fused, recipe.input_shape, recipe.classes)
    torch_latency = {
        "torch_eager_latency_ms_b1": round(
            measure.host_latency_ms(torch_predictor, recipe.input_shape, 1, 200), 4
        ),
        "torch_eager_latency_ms_b64": round(
            measure.host_latency_ms(torch_predictor, recipe.input_shape, 64), 4
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
        predictor = OrtPredictor(path, recipe.input_shape, recipe.classes)
        if recipe.extra_metrics is not None:
            extra = {**extra, **recipe.extra_metrics(predictor, recipe.heldout_seed)}
        card = measure.make_card(
            model=name,
            variant=variant,
            task=recipe.task,
            torch_model=fused,
            predictor=predictor,
            artifact=path,
            x_test=x_test,
            y_test=y_test,
            recipe=recipe_text,
            runtime="onnxruntime",
            extra={"heldout_seed": recipe.heldout_seed, **extra},
        )
        card.devices_fit = devices_that_fit(card)
        card.save(card_path(name, variant, Path(root)))
        cards.append(card)
    spec = {"model": name, "classes": list(recipe.classes), "input_shape": list(recipe.input_shape)}
    (out / "data_spec.json").write_text(json.dumps({**spec, **recipe.data_spec}, indent=2) + "\n")
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


def main(argv: list[str] | None = None) -> int:
    _import_recipes()
    groups = sorted({r.group for r in REGISTRY.values()})
    parser = argparse.ArgumentParser(prog="python -m models.train", description=__doc__.splitlines()[0])
    parser.add_argument(
        "targets", nargs="*", default=["all"], help=f"all, a group ({', '.join(groups)}) or model names"
    )
    args = parser.parse_args(argv)
    names: list[str] = []
    for target in args.targets:
        if target == "all":
            names += list(REGISTRY)
        elif target in groups:
            names += [n for n, r in REGISTRY.items() if r.group == target]
        elif target in REGISTRY:
            names.append(target)
        else:
            parser.error(
                f"unknown target {target!r}; expected all, {', '.join(groups)} or {', '.join(REGISTRY)}"
            )
    cards = [card for name in dict.fromkeys(names) for card in build(name)]
    print(format_cards(cards))
    for card in cards:
        screening = {k: v for k, v in card.extra.items() if k.startswith(("sensitivity", "specificity"))}
        if screening:
            print(f"{card.model}/{card.variant}: {screening}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
