"""The gallery and the user's queries, planned from the seed before the run, and the real
model outputs on them (computed in chunks, cached), so the loop only schedules.

Where photos come from: the library already on the phone (taken before the run), and each
source of ``params.sources`` (a camera sends its snapshots to the phone; the phone's own
camera), at random times in its hours. A photo's scene is drawn from its source's rooms and
its time of day from the clock it was taken at (cameras see at night in infrared; the phone
takes night photos under lamps, which look like evening). Queries come at random times in
the query hours; each describes, in a held-out phrasing, something in a photo taken before
it (a random scene when there is none yet).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from models.data import photos
from simulator import cache as outputs_cache

DAY_S = 86_400.0
CHUNK = 1_000  # photos per cached chunk of model outputs
_ROOT = Path(__file__).resolve().parents[3]
SOURCES = (_ROOT / "models" / "data" / "photos.py", _ROOT / "models" / "data" / "images.py", Path(__file__))

# the key holds the generators' sources (_sources_fingerprint), so the store needs none
CACHE = outputs_cache.Store("photo_search")


def time_of_day(clock_s: float, infrared: bool) -> str:
    """Day 07–17 h, evening 17–21 h, night otherwise (evening for a camera without infrared)."""
    hour = (clock_s % DAY_S) / 3600.0
    if 7.0 <= hour < 17.0:
        return "day"
    if 17.0 <= hour < 21.0 or not infrared:
        return "evening"
    return "night"


@dataclass
class Gallery:
    """Every photo of the run, in the order taken (``ids`` are positions)."""

    times_s: np.ndarray
    sources: list[str]
    scenes: list[photos.Scene]
    pixel_seed: int

    def __len__(self) -> int:
        return len(self.scenes)


@dataclass
class Queries:
    times_s: np.ndarray
    texts: list[str]
    wants: list[dict[str, str]]


def plan_gallery(params: dict, duration_s: float, rng: np.random.Generator, cameras: set[str]) -> Gallery:
    """The photos of the run from ``params`` (library, sources) and the app's RNG."""
    times, sources, scenes = [], [], []
    library = params["library"]
    for _ in range(library["photos"]):
        t = -float(rng.uniform(0.0, library["taken_over_days"] * DAY_S))
        times.append(t)
        sources.append(params["phone"])
        room = library["rooms"][int(rng.integers(len(library["rooms"])))]
        scenes.append(_scene(rng, room, time_of_day(t, infrared=False)))
    days = duration_s / DAY_S
    for source in params["sources"]:
        n = int(rng.poisson(source["photos_per_day"] * days))
        start, end = source["hours"]
        for _ in range(n):
            day = float(rng.integers(max(int(np.ceil(days)), 1)))
            t = day * DAY_S + float(rng.uniform(start, end))
            if t >= duration_s:
                continue
            room = source["rooms"][int(rng.integers(len(source["rooms"])))]
            times.append(t)
            sources.append(source["device"])
            scenes.append(_scene(rng, room, time_of_day(t, infrared=source["device"] in cameras)))
    order = np.argsort(np.asarray(times), kind="stable")
    return Gallery(
        np.asarray(times, float)[order],
        [sources[i] for i in order],
        [scenes[i] for i in order],
        int(rng.integers(2**31)),
    )


def _scene(rng: np.random.Generator, room: str, time: str) -> photos.Scene:
    drawn = photos.random_scene(rng, rooms=(room,))
    return photos.Scene(drawn.subject, drawn.colour, room, time)


def plan_queries(params: dict, duration_s: float, gallery: Gallery, rng: np.random.Generator) -> Queries:
    """When the user searches and for what (held-out phrasings)."""
    start, end = params["query_hours"]
    times = [float(t) for t in params["query_times"]]
    for day in range(max(int(np.ceil(duration_s / DAY_S)), 1)):
        for _ in range(int(rng.poisson(params["queries_per_day"]))):
            times.append(day * DAY_S + float(rng.uniform(start, end)))
    times = sorted(t for t in times if t < duration_s)
    texts, wants = [], []
    for t in times:
        taken = int(np.searchsorted(gallery.times_s, t, side="right"))
        scene = gallery.scenes[int(rng.integers(taken))] if taken else photos.random_scene(rng)
        text, attributes = photos.caption(scene, rng, held_out=True)
        texts.append(text)
        wants.append(attributes)
    return Queries(np.asarray(times, float), texts, wants)


@cache
def _sources_fingerprint() -> str:
    digest = hashlib.sha256(np.__version__.encode())
    for path in SOURCES:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _codes(scenes: list[photos.Scene]) -> list[str]:
    return [f"{s.subject}|{s.colour}|{s.room}|{s.time}" for s in scenes]


def photo_outputs(predictor, gallery: Gallery, what: str) -> np.ndarray:
    """``predictor``'s raw outputs on every photo of the gallery, in cached chunks of
    :data:`CHUNK` (a chunk's key: the card and its artifact, the generators' source, the
    pixel seed, and the chunk's ids and scenes)."""
    card = predictor.card
    fingerprint = outputs_cache.card_fingerprint(card)
    parts = []
    for start in range(0, len(gallery), CHUNK):
        ids = range(start, min(start + CHUNK, len(gallery)))
        scenes = gallery.scenes[ids.start : ids.stop]
        key = outputs_cache.digest(
            "photo_search",
            what,
            fingerprint,
            _sources_fingerprint(),
            gallery.pixel_seed,
            ids.start,
            _codes(scenes),
        )

        def compute(ids=ids, scenes=scenes) -> np.ndarray:
            x = np.stack(
                [photos.photo_pixels(gallery.pixel_seed, i, s) for i, s in zip(ids, scenes, strict=True)]
            )
            return predictor.outputs(x).astype(np.float32)

        parts.append(CACHE.array(what, key, compute))
    dim = len(card.classes)
    return np.concatenate(parts) if parts else np.zeros((0, dim), np.float32)
