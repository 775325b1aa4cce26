"""Photos of the home with captions, for the photo-search encoders (``models.zoo.photo``).

A photo is a scene drawn with the camera generator's shapes (``models.data.images``): a room
(kitchen, living room, bedroom, garden, porch) with its own layout and palette, clutter, at most
one subject (a person, a package or a pet) painted in a named colour, then the light of a time
of day (day colour, a dim warm evening, or night infrared in grayscale, where colour is gone).
Each photo has its attributes; a caption names some of them with a template.

This lives beside ``images.py`` instead of inside it so the smart-home camera's frames (and
the cache keys that hash that file) stay exactly as they were.

Held out for the test split: scenes (a seed stream training never touches) and phrasings
(templates and word orders training never sees; their extra words are out of vocabulary).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from models.data import images
from models.data.images import _DRAW, SIZE, _box, _clutter, _ellipse, _motion_blur, _paint, _value_noise

SUBJECTS: tuple[str, ...] = ("none", "person", "package", "pet")
COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.85, 0.12, 0.10),
    "green": (0.15, 0.70, 0.20),
    "blue": (0.15, 0.30, 0.90),
    "yellow": (0.95, 0.85, 0.10),
    "white": (0.95, 0.95, 0.95),
    "black": (0.08, 0.08, 0.08),
}
ROOMS: tuple[str, ...] = ("kitchen", "living room", "bedroom", "garden", "porch")
TIMES: tuple[str, ...] = ("day", "evening", "night")
ATTRIBUTES: tuple[str, ...] = ("subject", "colour", "room", "time")
SPLITS: dict[str, int] = {"train": 0, "val": 1, "test": 2}
VERSION = "1"  # bump when the generated photos or captions change (caches key on it)

# Words a caption may use for each attribute value (all of them are in the vocabulary).
WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "subject": {
        "person": ("person", "man", "woman", "someone", "visitor"),
        "package": ("package", "parcel", "box", "delivery"),
        "pet": ("pet", "dog", "cat", "animal"),
    },
    "colour": {name: (name,) for name in COLOURS},
    "room": {
        "kitchen": ("kitchen",),
        "living room": ("living room", "lounge"),
        "bedroom": ("bedroom",),
        "garden": ("garden", "yard"),
        "porch": ("porch", "front door"),
    },
    "time": {
        "day": ("during the day", "in daylight", "daytime", "in the morning", "in the afternoon"),
        "evening": ("in the evening", "at dusk", "evening"),
        "night": ("at night", "in the dark", "night"),
    },
}
# Phrasings: the order of the parts and the words around them. Held-out ones are never trained on.
TRAIN_ORDERS: tuple[tuple[str, ...], ...] = (
    ("subject", "room", "time"),
    ("subject", "time", "room"),
    ("room", "time", "subject"),
)
HELD_OUT_ORDERS: tuple[tuple[str, ...], ...] = (("time", "subject", "room"), ("room", "subject", "time"))
TRAIN_PREFIXES: tuple[str, ...] = ("", "a photo of", "picture of", "the")
HELD_OUT_PREFIXES: tuple[str, ...] = ("show me", "find photos of", "any pictures from", "where is")
HELD_OUT_SUFFIXES: tuple[str, ...] = ("", "i saw", "please", "from last week")
FILLER = ("a", "the", "of", "in", "with", "photo", "picture", "at", "during")  # + the train prefixes
TOKEN = re.compile(r"[a-z]+")


def _vocabulary() -> tuple[str, ...]:
    words = set(FILLER)
    for prefix in TRAIN_PREFIXES:
        words.update(TOKEN.findall(prefix))
    for values in WORDS.values():
        for phrases in values.values():
            for phrase in phrases:
                words.update(TOKEN.findall(phrase))
    return tuple(sorted(words))


VOCAB: tuple[str, ...] = _vocabulary()
_INDEX = {word: i for i, word in enumerate(VOCAB)}


@dataclass(frozen=True)
class Scene:
    """What a photo shows; ``colour`` is ``None`` without a subject."""

    subject: str
    colour: str | None
    room: str
    time: str

    def get(self, attribute: str) -> str | None:
        return getattr(self, attribute)


# ----------------------------------------------------------------------------- rooms
def _jitter(rng: np.random.Generator, colour, spread: float = 0.08) -> np.ndarray:
    return np.clip(np.asarray(colour, np.float32) + rng.uniform(-spread, spread, 3), 0, 1).astype(np.float32)


def _horizon(rng: np.random.Generator, lo: float, hi: float) -> np.ndarray:
    line = rng.uniform(lo, hi) * SIZE + rng.uniform(-4, 4) * (images._XX / SIZE - 0.5)
    return (images._YY > line).astype(np.float32)[..., None]


def _room(room: str, rng: np.random.Generator) -> np.ndarray:
    """The room's background: layout and palette say which room it is."""
    yy, xx = images._YY, images._XX
    if room == "kitchen":  # pale tiled wall, grey worktop
        period = rng.uniform(6, 10)
        grout = (np.abs((xx / period) % 1 - 0.5) > 0.42) | (np.abs((yy / period) % 1 - 0.5) > 0.42)
        img = np.where(grout[..., None], _jitter(rng, (0.55, 0.55, 0.55)), _jitter(rng, (0.88, 0.9, 0.86)))
        img = img.astype(np.float32)
        top = rng.uniform(0.55, 0.7) * SIZE
        _paint(img, _box(SIZE / 2, top + 40, SIZE * 1.2, 80), _jitter(rng, (0.4, 0.4, 0.42)))
    elif room == "living room":  # warm wall over a patterned carpet, a sofa
        floor = _horizon(rng, 0.5, 0.65)
        carpet = _jitter(rng, (0.55, 0.2, 0.15)) * (0.7 + 0.6 * _value_noise(rng, 4)[..., None])
        img = (_jitter(rng, (0.85, 0.75, 0.55)) * (1 - floor) + carpet * floor).astype(np.float32)
        cx = rng.uniform(0.25, 0.75) * SIZE
        _paint(img, _box(cx, SIZE * 0.52, rng.uniform(26, 40), 12), _jitter(rng, (0.35, 0.25, 0.2)))
    elif room == "bedroom":  # cool wall, wooden floor, a bed with a pillow
        floor = _horizon(rng, 0.55, 0.7)
        planks = 0.8 + 0.2 * (np.abs((xx / rng.uniform(5, 9)) % 1 - 0.5) < 0.45)
        wood = _jitter(rng, (0.6, 0.45, 0.3)) * planks[..., None]
        img = (_jitter(rng, (0.55, 0.6, 0.85)) * (1 - floor) + wood * floor).astype(np.float32)
        cx = rng.uniform(0.3, 0.7) * SIZE
        _paint(img, _box(cx, SIZE * 0.62, rng.uniform(30, 44), 14), _jitter(rng, (0.9, 0.9, 0.95)))
        _paint(img, _ellipse(cx - 12, SIZE * 0.55, 6, 3), _jitter(rng, (0.95, 0.95, 0.9)))
    elif room == "garden":  # sky over grass, a tree
        ground = _horizon(rng, 0.35, 0.55)
        sky = _jitter(rng, (0.55, 0.75, 0.95)) * (1 - 0.3 * yy[..., None] / SIZE)
        grass = _jitter(rng, (0.25, 0.55, 0.2)) * (0.7 + 0.6 * _value_noise(rng, 5)[..., None])
        img = (sky * (1 - ground) + grass * ground).astype(np.float32)
        tx = rng.uniform(0.1, 0.9) * SIZE
        _paint(img, _box(tx, SIZE * 0.45, 3, 20), _jitter(rng, (0.35, 0.25, 0.15)))
        _paint(
            img,
            _ellipse(tx, SIZE * 0.28, rng.uniform(7, 12), rng.uniform(6, 10)),
            _jitter(rng, (0.1, 0.4, 0.1)),
        )
    else:  # porch: wooden boards, a dark front door, a doormat
        boards = 0.75 + 0.25 * (np.abs((yy / rng.uniform(4, 7)) % 1 - 0.5) < 0.42)
        img = (_jitter(rng, (0.55, 0.4, 0.28)) * boards[..., None]).astype(np.float32)
        dx = rng.uniform(0.25, 0.75) * SIZE
        _paint(img, _box(dx, SIZE * 0.3, 20, 44), _jitter(rng, (0.2, 0.12, 0.1)))
        _paint(img, _ellipse(dx + 6, SIZE * 0.32, 1.5, 1.5), np.array([0.9, 0.8, 0.3], np.float32))
        _paint(img, _box(dx, SIZE * 0.62, 22, 6), _jitter(rng, (0.3, 0.3, 0.25)))
    return np.clip(img, 0, 1).astype(np.float32)


def _subject(img: np.ndarray, name: str, colour: str, rng: np.random.Generator) -> np.ndarray:
    """Draw the subject with the camera generator's shapes, then dye it ``colour`` (its shading kept)."""
    layer = np.zeros((SIZE, SIZE, 4), np.float32)
    _DRAW[name](layer, rng)
    alpha = np.clip(layer[..., 3:], 0, 1)
    luma = (layer[..., :3] @ np.array([0.3, 0.55, 0.15], np.float32))[..., None] / np.maximum(alpha, 1e-3)
    covered = alpha[..., 0] > 0.5
    lo, hi = (float(luma[covered].min()), float(luma[covered].max())) if covered.any() else (0.0, 1.0)
    shade = 0.8 + 0.35 * (luma - lo) / max(hi - lo, 1e-3)
    dyed = np.clip(np.asarray(COLOURS[colour], np.float32) * shade, 0, 1)
    return img * (1 - alpha) + alpha * dyed


def _light(img: np.ndarray, time: str, rng: np.random.Generator) -> np.ndarray:
    if time == "night":  # infrared: grayscale, vignetting, noise
        gray = img @ np.array([0.35, 0.45, 0.2], np.float32)
        r2 = ((images._XX - SIZE / 2) ** 2 + (images._YY - SIZE / 2) ** 2) / (SIZE / 2) ** 2
        img = np.repeat((gray * (1.0 - rng.uniform(0.3, 0.6) * r2))[..., None], 3, axis=2)
        exposure, noise = rng.uniform(0.7, 1.2), rng.uniform(0.03, 0.07)
    elif time == "evening":  # lamps: warm and dim
        img = img * np.array([1.15, 0.85, 0.55], np.float32) * rng.uniform(0.9, 1.1, 3).astype(np.float32)
        exposure, noise = rng.uniform(0.45, 0.7), rng.uniform(0.02, 0.05)
    else:
        img = img * rng.uniform(0.9, 1.1, 3).astype(np.float32)
        exposure, noise = rng.uniform(0.85, 1.2), rng.uniform(0.01, 0.04)
    img = img * exposure
    if rng.random() < 0.2:
        img = _motion_blur(img, rng)
    img = np.clip(img, 0, 1) ** rng.uniform(0.85, 1.15)
    img = img + rng.normal(0, noise, img.shape).astype(np.float32) * np.sqrt(img + 0.05)
    return np.clip(img, 0, 1)


def random_scene(rng: np.random.Generator, rooms: tuple[str, ...] = ROOMS) -> Scene:
    """A scene with attributes drawn uniformly (a quarter without a subject)."""
    subject = SUBJECTS[int(rng.integers(len(SUBJECTS)))]
    colour = None if subject == "none" else tuple(COLOURS)[int(rng.integers(len(COLOURS)))]
    return Scene(subject, colour, rooms[int(rng.integers(len(rooms)))], TIMES[int(rng.integers(len(TIMES)))])


def render(scene: Scene, rng: np.random.Generator) -> np.ndarray:
    """One photo of ``scene``, float32 (3, 64, 64) in [0, 1]."""
    img = _room(scene.room, rng)
    if rng.random() < 0.5:
        _clutter(img, rng)
    if scene.subject != "none":
        img = _subject(img, scene.subject, scene.colour, rng)
    return _light(img, scene.time, rng).transpose(2, 0, 1).astype(np.float32)


def photo_pixels(pixel_seed: int, photo_id: int, scene: Scene) -> np.ndarray:
    """Photo ``photo_id`` of a gallery drawn from ``pixel_seed``: the same pixels in any order."""
    return render(scene, np.random.default_rng([pixel_seed, photo_id, 0x9407]))


def make_photos(split: str, n: int, seed: int = 0) -> tuple[np.ndarray, list[Scene]]:
    """``n`` photos of random scenes: ``x`` float32 (n, 3, 64, 64) and their scenes."""
    rng = np.random.default_rng([seed, SPLITS[split], 0x9407])
    scenes = [random_scene(rng) for _ in range(n)]
    x = np.empty((n, 3, SIZE, SIZE), np.float32)
    for i, scene in enumerate(scenes):
        x[i] = render(scene, rng)
    return x, scenes


# ----------------------------------------------------------------------------- captions
def visible(scene: Scene) -> dict[str, str]:
    """The attributes a photo shows: colour is invisible under infrared."""
    shown = {"room": scene.room, "time": scene.time}
    if scene.subject != "none":
        shown["subject"] = scene.subject
        if scene.time != "night":
            shown["colour"] = scene.colour
    return shown


def _pick(options: tuple[str, ...], rng: np.random.Generator) -> str:
    return options[int(rng.integers(len(options)))]


def phrase(attributes: dict[str, str], rng: np.random.Generator, held_out: bool = False) -> str:
    """Words a person might type for ``attributes`` (a subset of :data:`ATTRIBUTES`)."""
    parts: dict[str, str] = {}
    if "subject" in attributes:
        colour = attributes.get("colour", "")
        parts["subject"] = f"a {colour} {_pick(WORDS['subject'][attributes['subject']], rng)}"
    if "room" in attributes:
        parts["room"] = ("" if held_out else "in the ") + _pick(WORDS["room"][attributes["room"]], rng)
    if "time" in attributes:
        parts["time"] = _pick(WORDS["time"][attributes["time"]], rng)
    orders = HELD_OUT_ORDERS if held_out else TRAIN_ORDERS
    order = [part for part in _pick(orders, rng) if part in parts]
    if not held_out and order and order[0] == "room":  # "the kitchen at night with a dog"
        parts["room"] = parts["room"].removeprefix("in ")
        if "subject" in parts:
            parts["subject"] = "with " + parts["subject"]
    prefix = _pick(HELD_OUT_PREFIXES if held_out else TRAIN_PREFIXES, rng)
    suffix = _pick(HELD_OUT_SUFFIXES, rng) if held_out else ""
    return " ".join(" ".join([prefix, *(parts[p] for p in order), suffix]).split())


def caption(scene: Scene, rng: np.random.Generator, held_out: bool = False) -> tuple[str, dict[str, str]]:
    """A caption naming a random non-empty subset of what the photo shows, and that subset."""
    shown = visible(scene)
    names = list(shown)
    keep = [name for name in names if rng.random() < 0.6] or [names[int(rng.integers(len(names)))]]
    if "colour" in keep and "subject" not in keep:
        keep.append("subject")
    subset = {name: shown[name] for name in ATTRIBUTES if name in keep}
    return phrase(subset, rng, held_out), subset


def matches(scene: Scene, attributes: dict[str, str]) -> bool:
    """Whether a photo of ``scene`` answers a query for ``attributes``."""
    return all(visible(scene).get(name) == value for name, value in attributes.items())


def attribute_codes(attributes: list[dict[str, str | None]]) -> np.ndarray:
    """(N, 4) integer codes of subject, colour, room and time (order of :data:`ATTRIBUTES`);
    -1 where an attribute is not given: photo ``i`` answers query ``j`` when every code the
    query gives equals the photo's visible one."""
    values = {"subject": SUBJECTS, "colour": tuple(COLOURS), "room": ROOMS, "time": TIMES}
    codes = np.full((len(attributes), len(ATTRIBUTES)), -1, np.int64)
    for i, attrs in enumerate(attributes):
        for j, name in enumerate(ATTRIBUTES):
            if attrs.get(name) is not None:
                codes[i, j] = values[name].index(attrs[name])
    return codes


def tokenize(text: str) -> np.ndarray:
    """Bag of words over :data:`VOCAB` (counts, float32); unknown words are dropped."""
    bag = np.zeros(len(VOCAB), np.float32)
    for word in TOKEN.findall(text.lower()):
        if word in _INDEX:
            bag[_INDEX[word]] += 1.0
    return bag


def tokenize_many(texts: list[str]) -> np.ndarray:
    return np.stack([tokenize(t) for t in texts]) if texts else np.zeros((0, len(VOCAB)), np.float32)


def make_queries(n: int, seed: int = 0, held_out: bool = True) -> list[tuple[str, dict[str, str]]]:
    """``n`` search queries (text, attributes) as a user would type them about random scenes."""
    rng = np.random.default_rng([seed, 0x0E7])
    queries = []
    while len(queries) < n:
        queries.append(caption(random_scene(rng), rng, held_out=held_out))
    return queries
