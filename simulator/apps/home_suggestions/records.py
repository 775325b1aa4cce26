"""The suggestion app's own trace kinds (beside the federated protocol's, which it writes
under its name too: :mod:`simulator.federated.records`)."""

from __future__ import annotations

from typing import NamedTuple

from simulator.federated.records import RECORDS as FEDERATED_RECORDS


class SuggestionPlan(NamedTuple):
    """The run's set-up (t = 0): the catalogue, who serves whom, what each slice holds."""

    t: float
    app: str
    catalogue: str
    item_names: list
    item_kinds: list
    members: list  # [home, member id, attributes (names set)]
    serving: dict  # device → {"contexts": [...], "kinds": [...], "items": n, "bytes": n}
    blur_m: float
    context_accuracy: float  # share of held-out moments whose inferred context is the true one
    data_offset_s: float  # simulated t = 0 in the data's clock (seconds since its first Monday 00:00)


class Suggestion(NamedTuple):
    """A moment of context: ``device`` ranked its cached slice (model ``version``) for
    ``member``; ``rank`` is the used item's 0-based rank there (−1: not in the slice),
    ``popular_rank`` its rank under the most-popular list of the same slice (the baseline).
    ``why`` says what put the top item first (context or taste share); ``served`` False
    when the device was off."""

    t: float
    app: str
    home: int
    member: int
    device: str
    context: str
    true_context: str
    version: int
    items: list
    used_item: int
    rank: int
    popular_rank: int
    latency_s: float
    served: bool
    why: str


class SliceSync(NamedTuple):
    """The phone pushed a profile slice (model ``version``) to one of the home's devices."""

    t: float
    app: str
    home: int
    device: str
    version: int
    bytes: int
    status: str


RECORDS = {
    **FEDERATED_RECORDS,
    "suggestion_plan": SuggestionPlan,
    "suggestion": Suggestion,
    "slice_sync": SliceSync,
}
