"""``photo_image_encoder`` and ``photo_text_encoder``: the phone's photo search, CLIP-style.

Both map into one 64-d space with unit-length vectors, so a query's cosine with a photo is
their dot product. The image encoder is the camera detector's Conv-BN-ReLU trunk with a
linear projection (every op has an INT8 kernel); the text encoder is a bag of words over
the fixed vocabulary of ``models.data.photos`` through a two-layer MLP (a query is a
handful of words: word order carries little here, and it costs about 15 k MACs).
Trained together by ``models.train_photo`` with a symmetric InfoNCE loss.
"""

from __future__ import annotations

import numpy as np
from torch import nn
from torch.nn import functional as F

from models.data import photos
from models.zoo import ZooSpec
from models.zoo.camera import CameraDetector

EMBEDDING_DIM = 64
DIMENSIONS: tuple[str, ...] = tuple(f"e{i}" for i in range(EMBEDDING_DIM))


class ImageEncoder(nn.Module):
    """3x64x64 photo -> unit 64-d embedding; about 122 k parameters, 9.6 M MACs."""

    def __init__(self, width: int = 16, dim: int = EMBEDDING_DIM):
        super().__init__()
        self.features = CameraDetector(width=width).features  # same trunk, fresh weights
        self.project = nn.Linear(6 * width, dim)

    def forward(self, x):
        return F.normalize(self.project(self.features(x)), dim=1)


class TextEncoder(nn.Module):
    """Bag of words (len(VOCAB) counts) -> unit 64-d embedding."""

    def __init__(self, vocab_size: int = len(photos.VOCAB), hidden: int = 128, dim: int = EMBEDDING_DIM):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(vocab_size, hidden), nn.ReLU(), nn.Linear(hidden, dim))

    def forward(self, bag):
        return F.normalize(self.mlp(bag), dim=1)


def image_dataset(split: str, n: int | None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Photos and the index of their subject in ``photos.SUBJECTS`` (the zoo's ``(x, y)``)."""
    x, scenes = photos.make_photos(split, n or 2000, seed)
    return x, np.array([photos.SUBJECTS.index(s.subject) for s in scenes], np.int64)


def text_dataset(split: str, n: int | None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Captions as bags of words and the index of the subject they name (0: none named)."""
    rng = np.random.default_rng([seed, photos.SPLITS[split], 0x7E47])
    pairs = [
        photos.caption(photos.random_scene(rng), rng, held_out=split == "test") for _ in range(n or 2000)
    ]
    y = [photos.SUBJECTS.index(attrs.get("subject", "none")) for _, attrs in pairs]
    return photos.tokenize_many([text for text, _ in pairs]), np.array(y, np.int64)


ZOO_SHAPES = {
    "photo_image_encoder": (3, photos.SIZE, photos.SIZE),
    "photo_text_encoder": (len(photos.VOCAB),),
}

SPECS = [
    ZooSpec(
        name="photo_image_encoder",
        device_kind="phone",
        task="photo search: a photo of the home -> 64-d embedding (unit length)",
        classes=DIMENSIONS,
        input_shape=ZOO_SHAPES["photo_image_encoder"],
        build=ImageEncoder,
        make_dataset=image_dataset,
        data_version=photos.VERSION,
    ),
    ZooSpec(
        name="photo_text_encoder",
        device_kind="phone",
        task="photo search: a typed query (bag of words) -> 64-d embedding (unit length)",
        classes=DIMENSIONS,
        input_shape=ZOO_SHAPES["photo_text_encoder"],
        build=TextEncoder,
        make_dataset=text_dataset,
        data_version=photos.VERSION,
    ),
]
