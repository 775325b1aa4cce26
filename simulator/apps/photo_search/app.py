"""Photo search on the phone: an on-device encoder and a real vector index.

The gallery grows as the home's cameras send snapshots to the phone (over their links: both
radios pay) and the phone takes photos; photos already in its library are there at t = 0.
While the phone charges, it embeds the photos waiting, in batches, with its image encoder
(``Device.run``: time and energy on its clock), and adds them to a real usearch HNSW index
(or exact search), charged as the index's distance computations × dimension × the measured
graph-walk factor (:mod:`.costs`). During the day the user types queries: the phone's text
encoder embeds the text, the index answers the top ``k``; the record keeps what exact search
and tag search (the camera detector's classes as tags) would have answered, for recall.

Photos, embeddings and queries never leave the phone: the app sends nothing from it, and
:func:`~.metrics.summarize` proves it from the trace's Message records.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

import simulator.apps.photo_search.costs as costs
import simulator.apps.photo_search.gallery as gallery
import simulator.apps.photo_search.metrics as metrics
from models.data import photos
from models.retrieval import tag_scores, top_k
from simulator.apps.base import App
from simulator.apps.photo_search.index import DTYPES, INDEX_KINDS, IndexSettings, PhotoIndex, work_card
from simulator.apps.photo_search.records import RECORDS, IndexBatch, PhotoQuery, PhotoTaken
from simulator.devices import PRIORITY_BACKGROUND, PRIORITY_NORMAL
from simulator.trace import Note
from simulator.validate import Field, ListOf, SpecError, check

IMAGE_MODEL, TEXT_MODEL = "photo_image_encoder", "photo_text_encoder"
PHOTO_BYTES = 3 * photos.SIZE * photos.SIZE  # one 8-bit RGB snapshot
RECALL_K = 10

ROOM = Field(str, choices=photos.ROOMS)
SOURCE_SCHEMA = {
    "device": Field(str, required=True),
    "rooms": ListOf(ROOM, required=True),
    "photos_per_day": Field(float, minimum=0.0, default=100.0),
    "hours": ListOf(Field("duration"), default=[0.0, 86_400.0]),  # list defaults are not parsed
}
LIBRARY_SCHEMA = {
    "photos": Field(int, minimum=0, default=0),
    "taken_over_days": Field(float, minimum=0.0, exclusive_min=True, default=365.0),
    "rooms": ListOf(ROOM, default=list(photos.ROOMS)),
}
INDEX_SCHEMA = {
    "kind": Field(str, choices=INDEX_KINDS, default="hnsw"),
    "connectivity": Field(int, minimum=2, default=16),
    "expansion_add": Field(int, minimum=1, default=100),
    "expansion_search": Field(int, minimum=1, default=64),
    "dtype": Field(str, choices=tuple(DTYPES), default="f32"),
}
PARAMS_SCHEMA: dict[str, Any] = {
    "phone": Field(str, default="phone"),
    "library": LIBRARY_SCHEMA,
    "sources": ListOf(SOURCE_SCHEMA, default=[]),
    "index": INDEX_SCHEMA,
    "k": Field(int, minimum=1, default=10),
    "embed_batch": Field(int, minimum=1, default=64),
    "poll_s": Field("duration", minimum=1.0, default=600.0),
    "queries_per_day": Field(float, minimum=0.0, default=12.0),
    "query_hours": ListOf(Field("duration"), default=[8 * 3600.0, 22 * 3600.0]),
    "query_times": ListOf(Field("duration"), default=[]),
}
HOOKS = ("indexing_started", "index_caught_up", "query_answered", "query_empty")


def _hours(value: list[float], file: str, where: str) -> list[float]:
    if len(value) != 2 or not 0.0 <= value[0] < value[1] <= gallery.DAY_S:
        raise SpecError(f"{file}, {where}: expected [start, end] within a day with start < end, got {value}")
    return value


class PhotoSearch(App):
    TYPE = "photo_search"
    DESCRIPTION = "photo search on the phone: on-device encoders and a vector index; nothing leaves the phone"
    PARAMS = PARAMS_SCHEMA
    RECORDS = RECORDS
    HOOKS = HOOKS
    DEVICE_PARAMS = ("phone",)

    @classmethod
    def check_params(cls, raw: Any, scenario: dict[str, Any], file: str, where: str) -> dict[str, Any]:
        params = super().check_params(raw, scenario, file, where)
        for name, schema in (("library", LIBRARY_SCHEMA), ("index", INDEX_SCHEMA)):
            if params[name] is None:
                params[name] = check(schema, {}, f"{where}.{name}")
        devices = [d["name"] for d in scenario["devices"]]
        for i, source in enumerate(params["sources"]):
            if source["device"] not in devices:
                raise SpecError(
                    f"{file}, {where}.sources[{i}].device: unknown device {source['device']!r}"
                    f" (devices: {', '.join(devices)})"
                )
            if not source["rooms"]:
                raise SpecError(f"{file}, {where}.sources[{i}].rooms: expected at least one room")
            _hours(source["hours"], file, f"{where}.sources[{i}].hours")
        _hours(params["query_hours"], file, f"{where}.query_hours")
        return params

    # -- set-up: plan the run and compute the models' outputs before it --------------------
    def start(self) -> None:
        params = self.params
        self.phone = self.device(params["phone"])
        self.image = self.load_model(self.phone, IMAGE_MODEL)
        self.text = self.load_model(self.phone, TEXT_MODEL)
        cameras = {s["device"] for s in params["sources"] if s["device"] != self.phone.name}
        self.links = {name: self.link_between(self.device(name), self.phone) for name in cameras}
        self.gallery = gallery.plan_gallery(params, self.sim.duration_s, self.rng("gallery"), cameras)
        self.queries = gallery.plan_queries(params, self.sim.duration_s, self.gallery, self.rng("queries"))
        self.embeddings = gallery.photo_outputs(self.image, self.gallery, "embedding")
        self.tags = _softmax(gallery.photo_outputs(_detector(), self.gallery, "detector"))
        self.query_vectors = self.text.outputs(photos.tokenize_many(self.queries.texts))
        self.codes = photos.attribute_codes([photos.visible(s) for s in self.gallery.scenes])
        self.settings = IndexSettings(**params["index"])
        self.index = PhotoIndex(self.embeddings.shape[1], self.settings)
        self.cost_factor = costs.hnsw_distance_cost_factor()
        self.pending: list[int] = []
        self._work_cards: dict[int, Any] = {}  # kept alive: Device caches costs by card identity
        self.env.process(self.take_photos())
        self.env.process(self.index_while_charging())
        self.env.process(self.answer_queries())

    # -- the gallery grows ------------------------------------------------------------------
    def _taken(self, photo_id: int) -> None:
        scene = self.gallery.scenes[photo_id]
        self.sim.trace.append(
            PhotoTaken(
                self.env.now,
                self.name,
                photo_id,
                self.gallery.pixel_seed,
                float(self.gallery.times_s[photo_id]),
                self.gallery.sources[photo_id],
                scene.room,
                scene.subject,
                scene.colour or "",
                scene.time,
            )
        )

    def take_photos(self) -> Generator[simpy.Event, Any, None]:
        for photo_id, taken_s in enumerate(self.gallery.times_s):
            if taken_s > self.env.now:
                yield self.env.timeout(taken_s - self.env.now)
            self._taken(photo_id)
            source = self.gallery.sources[photo_id]
            if source == self.phone.name:
                self.pending.append(photo_id)
            else:
                self.env.process(self.receive(photo_id, source))

    def receive(self, photo_id: int, source: str) -> Generator[simpy.Event, Any, None]:
        """A camera's snapshot travels to the phone (into the phone: never out of it)."""
        status = yield from self.links[source].send(self.device(source), "photo", PHOTO_BYTES)
        if status == "delivered":
            self.pending.append(photo_id)
        else:
            self.sim.trace.append(Note(self.env.now, source, "photo_lost", f"photo {photo_id}: {status}"))

    # -- the phone indexes while it charges --------------------------------------------------
    def _work(self, distances: int):
        card = self._work_cards.get(distances)
        if card is None:
            card = self._work_cards[distances] = work_card(
                self.settings.kind, distances, self.index.dim, self.settings.dtype, self.cost_factor
            )
        return card

    def index_while_charging(self) -> Generator[simpy.Event, Any, None]:
        batch_size = self.params["embed_batch"]
        while True:
            if self.phone.charging and self.phone.on and self.pending:
                self.fire("indexing_started")
                while self.pending and self.phone.charging and self.phone.on:
                    batch = sorted(self.pending[:batch_size])
                    del self.pending[:batch_size]
                    if not (yield from self._index_batch(batch)):
                        self.pending[:0] = batch
                        break
                if not self.pending:
                    self.fire("index_caught_up")
            yield self.env.timeout(self.params["poll_s"])

    def _index_batch(self, batch: list[int]) -> Generator[simpy.Event, Any, bool]:
        start = self.env.now
        if not (yield self.phone.run(self.image.card, len(batch), "embed", 0.0, PRIORITY_BACKGROUND)):
            return False
        distances = self.index.add(np.asarray(batch), self.embeddings[batch])
        if not (yield self.phone.run(self._work(distances), 1, "index", 0.0, PRIORITY_BACKGROUND)):
            return False
        index_bytes = self.index.memory_bytes()
        encoder = self.phone.cost(self.image.card, len(batch)).memory_needed_bytes
        self.sim.trace.append(
            IndexBatch(
                self.env.now,
                self.name,
                self.phone.name,
                batch[0],
                len(batch),
                len(self.index),
                distances,
                index_bytes,
                int(encoder + index_bytes),
                int(self.phone.profile.memory_bytes),
                start,
            )
        )
        return True

    # -- the user searches ----------------------------------------------------------------
    def answer_queries(self) -> Generator[simpy.Event, Any, None]:
        for query_id, t in enumerate(self.queries.times_s):
            if t > self.env.now:
                yield self.env.timeout(t - self.env.now)
            yield from self.answer(query_id)

    def answer(self, query_id: int) -> Generator[simpy.Event, Any, None]:
        start = self.env.now
        text, wants = self.queries.texts[query_id], self.queries.wants[query_id]
        if not (yield self.phone.run(self.text.card, 1, "query", 0.0, PRIORITY_NORMAL)):
            return
        vector = self.query_vectors[query_id]
        found = self.index.search(vector, self.params["k"])
        if found.distances_computed:
            if not (
                yield self.phone.run(self._work(found.distances_computed), 1, "search", 0.0, PRIORITY_NORMAL)
            ):
                return
        keys = self.index.keys()
        want = photos.attribute_codes([wants])[0]
        given = want >= 0
        answers = (
            set(keys[(self.codes[keys][:, given] == want[given]).all(1)].tolist()) if len(keys) else set()
        )
        exact = set(self.index.search(vector, RECALL_K, exact=True).keys.tolist())
        tagged = keys[top_k(tag_scores(text, self.tags[keys]), RECALL_K)] if len(keys) else keys
        first = found.keys[:RECALL_K].tolist()
        self.sim.trace.append(
            PhotoQuery(
                self.env.now,
                self.name,
                query_id,
                text,
                " ".join(f"{k}={v}" for k, v in wants.items()),
                len(keys),
                " ".join(str(k) for k in found.keys.tolist()),
                " ".join(f"{s:.4f}" for s in found.scores.tolist()),
                "".join("1" if k in answers else "0" for k in found.keys.tolist()),
                sum(k in answers for k in first),
                len(answers),
                len(exact & set(first)),
                sum(int(k) in answers for k in tagged),
                found.distances_computed,
                start,
            )
        )
        self.fire("query_answered" if len(keys) else "query_empty")

    # -- metrics ------------------------------------------------------------------------------
    @classmethod
    def summarize(cls, trace, app: dict[str, Any], end_s: float) -> dict[str, Any]:
        """The app's summary, from the trace alone (see :mod:`.metrics`)."""
        return metrics.summarize(trace, app, end_s)

    def metrics(self, trace, end_s: float) -> dict[str, Any]:
        return self.summarize(trace, {"type": self.TYPE, "name": self.name, "params": self.params}, end_s)


def _detector():
    """The camera detector's fp32 variant, for the tag-search baseline (run on the host for
    the comparison only; the phone never runs it)."""
    from models import runtime  # deferred: importing the app loads no ONNX Runtime

    return runtime.load("camera_detector", "fp32")


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(1, keepdims=True))
    return z / z.sum(1, keepdims=True)
