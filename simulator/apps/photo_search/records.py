"""Trace records of the photo-search app (each has ``t`` first and ``app`` second)."""

from __future__ import annotations

from typing import NamedTuple


class PhotoTaken(NamedTuple):
    """Photo ``photo_id`` was taken by ``source`` at ``taken_s`` (< 0: already in the phone's
    library when the run starts, recorded at ``t`` = 0) and shows this scene (ground truth; ``colour`` is empty
    without a subject). Its pixels are ``models.data.photos.photo_pixels(pixel_seed,
    photo_id, scene)``, so a view can draw the thumbnail from the trace alone."""

    t: float
    app: str
    photo_id: int
    pixel_seed: int
    taken_s: float
    source: str
    room: str
    subject: str
    colour: str
    time_of_day: str


class IndexBatch(NamedTuple):
    """The phone embedded ``n_photos`` photos (``first_id``…) and added them to its index
    from ``start_t`` to ``t`` (recorded when done: the trace is in time order); the index then held ``index_size`` vectors in ``memory_bytes``.
    ``distances``: the insertions' distance computations (what the phone was charged for);
    ``peak_memory_bytes``: encoder weights + the batch's activations + the index, against the
    phone's ``memory_budget_bytes``."""

    t: float
    app: str
    device: str
    first_id: int
    n_photos: int
    index_size: int
    distances: int
    memory_bytes: int
    peak_memory_bytes: int
    memory_budget_bytes: int
    start_t: float


class PhotoQuery(NamedTuple):
    """The user searched ``text`` at ``start_t``; the answer was ready at ``t`` (text encoder
    + index search on the phone's clock). ``results``/``scores``: the top photo ids and
    cosines, space-separated, best first, and ``hit_flags`` one ``1``/``0`` per result (does it
    answer the query: ``wants``, the attributes asked for); ``hits``: how many of the first 10 answer the
    query; ``relevant``: how many indexed photos do; ``exact_overlap``: how many of the first
    10 exact search would also return; ``tag_hits``: the first 10 of tag search (the camera
    detector's classes as tags) that answer it; ``distances``: the index's computations."""

    t: float
    app: str
    query_id: int
    text: str
    wants: str
    index_size: int
    results: str
    scores: str
    hit_flags: str
    hits: int
    relevant: int
    exact_overlap: int
    tag_hits: int
    distances: int
    start_t: float


RECORDS: dict[str, type] = {
    "photo_taken": PhotoTaken,
    "photo_index_batch": IndexBatch,
    "photo_query": PhotoQuery,
}
