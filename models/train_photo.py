"""Train the photo-search encoders together (CLIP-style) and write their artifacts and cards.

``python -m models.train_photo`` writes, under ``models/artifacts/<model>/``, for
``photo_image_encoder`` and ``photo_text_encoder``: ``fp32.pt`` (state dict), ``fp32.onnx``
(BatchNorm folded) and ``int8.onnx`` (the lab's static INT8 recipe: ORT QDQ, min/max ranges,
per-channel weights, ``models.quantize.quantize_static``), each with its card.

Loss: symmetric InfoNCE over a batch of (photo, caption) pairs with a learned temperature;
a caption names a random subset of what its photo shows, so several photos of a batch answer
it: the targets spread over all of them (the multi-positive form of CLIP's loss) instead of
calling those photos negatives. Captions are drawn afresh every epoch.

A card's ``accuracy`` is recall@10 of held-out queries (phrasings never trained on) over a
gallery of held-out scenes, with the other encoder at fp32; the tag-search baseline (the
camera detector's classes as tags) is in ``extra``. Seeded end to end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from models import quantize, retrieval, runtime
from models.cards import ARTIFACTS_DIR, ModelCard
from models.compress import lab
from models.data import photos
from models.zoo import fold_batchnorm, photo

torch.set_num_threads(1)

IMAGE, TEXT = "photo_image_encoder", "photo_text_encoder"


@dataclass(frozen=True)
class Recipe:
    """Sizes and optimiser settings (about 5 minutes on one core)."""

    n_train: int = 12_000
    n_val: int = 1_000
    n_test: int = 2_000
    n_queries: int = 400
    epochs: int = 10
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-4
    calib_size: int = 512
    seed: int = 0


def _targets(image_codes: torch.Tensor, caption_codes: torch.Tensor) -> torch.Tensor:
    """(B, B) 1 where caption j describes photo i (every attribute it names matches)."""
    named = caption_codes[None, :, :] >= 0
    same = image_codes[:, None, :] == caption_codes[None, :, :]
    return (~named | same).all(-1).float()


def _embed(module: torch.nn.Module, x: np.ndarray, batch: int = 512) -> np.ndarray:
    module.eval()
    with torch.inference_mode():
        return np.concatenate(
            [module(torch.from_numpy(x[i : i + batch])).numpy() for i in range(0, len(x), batch)]
        )


def retrieval_recall(gallery: np.ndarray, queries: np.ndarray, masks: list[np.ndarray], k: int = 10) -> float:
    """Mean recall@k of cosine search (unit vectors: the dot product) of ``queries`` in ``gallery``."""
    scores = queries @ gallery.T
    return retrieval.mean_recall([retrieval.top_k(row, k) for row in scores], masks, k)


def fit(recipe: Recipe, log=print) -> tuple[torch.nn.Module, torch.nn.Module, dict]:
    torch.manual_seed(recipe.seed)
    t0 = time.perf_counter()
    x_train, scenes = photos.make_photos("train", recipe.n_train, recipe.seed)
    x_val, val_scenes = photos.make_photos("val", recipe.n_val, recipe.seed)
    val_queries = photos.make_queries(200, seed=recipe.seed + 1, held_out=False)
    val_masks = [retrieval.relevance(val_scenes, attrs) for _, attrs in val_queries]
    val_bags = photos.tokenize_many([text for text, _ in val_queries])
    log(f"photo encoders: data {x_train.shape} in {time.perf_counter() - t0:.1f}s")
    image_codes = torch.from_numpy(photos.attribute_codes([photos.visible(s) for s in scenes]))
    images, texts = photo.ImageEncoder(), photo.TextEncoder()
    log_scale = torch.nn.Parameter(torch.tensor(np.log(1 / 0.07), dtype=torch.float32))
    params = [*images.parameters(), *texts.parameters(), log_scale]
    opt = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    steps_per_epoch = len(x_train) // recipe.batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=recipe.lr, total_steps=recipe.epochs * steps_per_epoch, pct_start=0.2
    )
    rng = np.random.default_rng(recipe.seed)
    xt = torch.from_numpy(x_train)
    best, best_state = -1.0, None
    for epoch in range(recipe.epochs):
        pairs = [photos.caption(s, rng) for s in scenes]
        bags = torch.from_numpy(photos.tokenize_many([text for text, _ in pairs]))
        caption_codes = torch.from_numpy(photos.attribute_codes([attrs for _, attrs in pairs]))
        order = torch.from_numpy(rng.permutation(len(x_train)))
        images.train(), texts.train()
        for step in range(steps_per_epoch):
            idx = order[step * recipe.batch_size : (step + 1) * recipe.batch_size]
            xb = xt[idx]
            xb = torch.cat([xb[::2], xb[1::2].flip(-1)])  # mirror half: rooms have no handedness
            idx = torch.cat([idx[::2], idx[1::2]])
            logits = log_scale.clamp(max=np.log(100)).exp() * images(xb) @ texts(bags[idx]).T
            target = _targets(image_codes[idx], caption_codes[idx])
            loss = 0.5 * (
                F.cross_entropy(logits, target / target.sum(1, keepdim=True))
                + F.cross_entropy(logits.T, target.T / target.T.sum(1, keepdim=True))
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        val = retrieval_recall(_embed(images, x_val), _embed(texts, val_bags), val_masks)
        log(
            f"  epoch {epoch + 1:2d} loss {loss.item():.3f} val recall@10 {val:.3f} ({time.perf_counter() - t0:.0f}s)"
        )
        if val >= best:
            best = val
            best_state = [{k: v.clone() for k, v in m.state_dict().items()} for m in (images, texts)]
    images.load_state_dict(best_state[0])
    texts.load_state_dict(best_state[1])
    return images.eval(), texts.eval(), {"train_wall_s": time.perf_counter() - t0, "val_recall_at_10": best}


@dataclass
class HeldOut:
    """The held-out gallery and queries every variant is measured on."""

    x: np.ndarray
    scenes: list[photos.Scene]
    texts: list[str]
    bags: np.ndarray
    masks: list[np.ndarray]
    train_phrasing_bags: np.ndarray
    train_phrasing_masks: list[np.ndarray]

    @classmethod
    def make(cls, recipe: Recipe) -> HeldOut:
        x, scenes = photos.make_photos("test", recipe.n_test, recipe.seed)
        queries = photos.make_queries(recipe.n_queries, seed=recipe.seed + 2, held_out=True)
        seen = photos.make_queries(recipe.n_queries, seed=recipe.seed + 2, held_out=False)
        return cls(
            x,
            scenes,
            [text for text, _ in queries],
            photos.tokenize_many([text for text, _ in queries]),
            [retrieval.relevance(scenes, attrs) for _, attrs in queries],
            photos.tokenize_many([text for text, _ in seen]),
            [retrieval.relevance(scenes, attrs) for _, attrs in seen],
        )


def tag_baseline(held_out: HeldOut, k: int = 10) -> float | None:
    """Recall@k of tag search with the camera detector's labels (None without its artifact)."""
    try:
        detector = runtime.load("camera_detector", "fp32")
    except ValueError:
        return None
    proba = detector.predict_proba(held_out.x)
    rankings = [retrieval.top_k(retrieval.tag_scores(text, proba), k) for text in held_out.texts]
    return retrieval.mean_recall(rankings, held_out.masks, k)


def _onnx_embed(path: Path):
    return lab.ort_predict(path)


def _card(
    name: str,
    variant: str,
    module: torch.nn.Module,
    artifact: Path,
    recall: float,
    recipe_text: str,
    sample: np.ndarray,
    extra: dict,
) -> ModelCard:
    spec = {s.name: s for s in photo.SPECS}[name]
    predict = lab.ort_predict(artifact)
    layers = quantize.quantized_nodes(artifact)
    kinds = set(layers.values())
    precision = kinds.pop() if len(kinds) == 1 else "mixed"
    return ModelCard(
        model=name,
        variant=variant,
        task=spec.task,
        classes=list(spec.classes),
        input_shape=list(spec.input_shape),
        precision=precision,
        params=lab.count_params(module),
        macs=lab.count_macs(module, spec.input_shape),
        bytes=artifact.stat().st_size,
        peak_activation_bytes=lab.peak_activation_bytes(module, spec.input_shape),
        accuracy=round(recall, 5),
        latency_ms_b1=round(lab.host_latency_ms(predict, sample, 1), 4),
        latency_ms_b64=round(lab.host_latency_ms(predict, sample, 64), 4),
        recipe=recipe_text,
        artifact=artifact.name,
        runtime="onnxruntime",
        precision_per_layer=layers,
        privacy_level="on-device",
        date=dt.date.today().isoformat(),
        extra={"accuracy_is": "recall@10 of held-out queries over held-out scenes", **extra},
    )


def train(
    recipe: Recipe = Recipe(),
    log=print,
    root: Path = ARTIFACTS_DIR,
    devices_fit: Callable[[ModelCard], list[str]] | None = None,
) -> dict[str, dict[str, ModelCard]]:
    """Train both encoders, write fp32 and int8 artifacts and cards; the cards by model and variant.
    ``devices_fit(card)`` fills each card's ``devices_fit`` (empty without it)."""
    images, texts, info = fit(recipe, log)
    held = HeldOut.make(recipe)
    calib_x, calib_scenes = photos.make_photos("train", recipe.calib_size, recipe.seed + 1)
    calib_rng = np.random.default_rng(recipe.seed + 1)
    calib_bags = photos.tokenize_many([photos.caption(s, calib_rng)[0] for s in calib_scenes])
    modules = {IMAGE: fold_batchnorm(images), TEXT: texts}
    inputs = {IMAGE: (held.x, calib_x), TEXT: (held.bags, calib_bags)}
    paths: dict[str, dict[str, Path]] = {}
    for name, module in modules.items():
        out = Path(root) / name
        out.mkdir(parents=True, exist_ok=True)
        torch.save((images if name == IMAGE else texts).state_dict(), out / "fp32.pt")
        fp32 = quantize.export_onnx(module, photo.ZOO_SHAPES[name], out / "fp32.onnx")
        with tempfile.TemporaryDirectory() as tmp:
            int8 = quantize.quantize_static(fp32, inputs[name][1], Path(tmp) / "int8.onnx", method="minmax")
            (out / "int8.onnx").write_bytes(int8.read_bytes())
        paths[name] = {"fp32": fp32, "int8": out / "int8.onnx"}
    gallery = {v: _onnx_embed(p)(held.x) for v, p in paths[IMAGE].items()}
    queries = {v: _onnx_embed(p)(held.bags) for v, p in paths[TEXT].items()}
    seen_queries = _onnx_embed(paths[TEXT]["fp32"])(held.train_phrasing_bags)
    tags = tag_baseline(held)
    log(f"tag search (camera_detector labels as tags): recall@10 {tags}")
    cards: dict[str, dict[str, ModelCard]] = {IMAGE: {}, TEXT: {}}
    common = {
        "train_wall_s": round(info["train_wall_s"], 1),
        "val_recall_at_10": round(info["val_recall_at_10"], 4),
        "tag_search_recall_at_10": None if tags is None else round(tags, 4),
        "recall_at_10_train_phrasings": round(
            retrieval_recall(gallery["fp32"], seen_queries, held.train_phrasing_masks), 4
        ),
        "n_gallery": len(held.x),
        "n_queries": len(held.texts),
        "embedding_dim": photo.EMBEDDING_DIM,
        "held_out": "test scenes from a disjoint seed stream; query phrasings (orders, prefixes) never trained on",
        "state_dict": "fp32.pt",
    }
    for name in (IMAGE, TEXT):
        for variant, path in paths[name].items():
            if name == IMAGE:
                recall = retrieval_recall(gallery[variant], queries["fp32"], held.masks)
                drift = float((gallery[variant] * gallery["fp32"]).sum(1).mean())
            else:
                recall = retrieval_recall(gallery["fp32"], queries[variant], held.masks)
                drift = float((queries[variant] * queries["fp32"]).sum(1).mean())
            text = (
                f"fp32 CLIP-style InfoNCE AdamW one-cycle lr={recipe.lr} epochs={recipe.epochs}"
                f" n_train={recipe.n_train} seed={recipe.seed}"
                if variant == "fp32"
                else f"ptq-static method=minmax calib=random:{recipe.calib_size} per-channel weights, ORT QDQ"
            )
            card = _card(
                name,
                variant,
                modules[name],
                path,
                recall,
                text,
                inputs[name][0],
                {**common, "mean_cosine_to_fp32": round(drift, 5)},
            )
            card.devices_fit = devices_fit(card) if devices_fit is not None else []
            card.save(path.parent / f"{variant}.card.json")
            cards[name][variant] = card
            log(
                f"{name}/{variant}: recall@10 {recall:.4f} cos-to-fp32 {drift:.4f} bytes {card.bytes}"
                f" MACs {card.macs} b64 {card.latency_ms_b64} ms"
            )
    runtime.clear_cache()
    return cards


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=Recipe.epochs)
    parser.add_argument("--n-train", type=int, default=Recipe.n_train)
    args = parser.parse_args(argv)
    print(
        "note: cards get no devices_fit here; `python main.py train photo` fills it from the device profiles"
    )
    train(Recipe(epochs=args.epochs, n_train=args.n_train))


if __name__ == "__main__":
    main()
