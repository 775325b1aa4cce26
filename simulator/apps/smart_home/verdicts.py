"""The models' verdicts: the real output (class, score) of a card on an input of a stream.

Before the night starts (:meth:`Verdicts.prepare`) every input a model stage can receive is
run, batched, through its variants (the outputs do not depend on simulation state); inputs
off that plan are run on demand, identically. Outputs go to and come from the smart home's
cache (:data:`.streams.CACHE`, a :class:`simulator.cache.Store`)."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np

import simulator.apps.smart_home.streams as streams
from simulator.cache import card_fingerprint, digest

if TYPE_CHECKING:
    from simulator.apps.smart_home.state import HomeState


class Verdicts:
    """Model outputs of one smart home (see module docstring); ``model_s`` is the host wall
    time spent on model work inside the event loop."""

    def __init__(self, home: HomeState) -> None:
        self.home = home
        self.model_s = 0.0
        self._predictors: dict[tuple[str, str], Any] = {}
        self._verdicts: dict[tuple[str, str, str, int], tuple[str, float]] = {}
        self._loaded: set[tuple[str, str, str]] = set()
        self._unsaved: dict[tuple[str, str, str], tuple[Any, streams.Stream]] = {}

    def _predictor(self, card):
        key = (card.model, card.variant)
        if key not in self._predictors:
            from models import runtime

            self._predictors[key] = runtime.load(card.model, card.variant)
        return self._predictors[key]

    def _run_model(self, card, stream: streams.Stream, indexes: list[int]) -> None:
        """Real inference of ``card`` on inputs ``indexes`` of ``stream`` (see :meth:`_run_models`)."""
        self._run_models(stream, [(card, indexes)])

    def _run_models(self, stream: streams.Stream, work: list[tuple[Any, list[int]]]) -> None:
        """Real inference of each ``(card, indexes)`` of ``work`` on ``stream``, in chunks;
        each chunk's inputs are made once for every card that needs them (an ungated
        camera's frames are rendered once for its detector and the hub's). Outputs the
        cache already holds are taken from it."""
        todo: dict[int, list[int]] = {}
        cards = {}
        for card, indexes in work:
            self._load(card, stream)
            missing = {
                k for k in indexes if (card.model, card.variant, stream.device, k) not in self._verdicts
            }
            if missing:
                cards[id(card)] = card
                todo.setdefault(id(card), set()).update(missing)
        if not todo:
            return
        wanted = sorted(set().union(*todo.values()))
        for c in range(0, len(wanted), 1024):
            chunk = wanted[c : c + 1024]
            features = stream.features(chunk)
            for key, needed in todo.items():
                card = cards[key]
                rows = [i for i, k in enumerate(chunk) if k in needed]
                if not rows:
                    continue
                probabilities = self._predictor(card).predict_proba(
                    features if len(rows) == len(chunk) else features[rows]
                )
                best = probabilities.argmax(axis=1)
                classes = card.classes
                for i, b, row in zip(rows, best.tolist(), probabilities.tolist(), strict=True):
                    self._verdicts[(card.model, card.variant, stream.device, chunk[i])] = (
                        classes[b],
                        round(row[b], 4),
                    )
        for card in cards.values():
            self._unsaved[(card.model, card.variant, stream.device)] = (card, stream)

    def _key(self, card, stream: streams.Stream) -> str:
        return digest("verdicts", stream.key, card_fingerprint(card))

    def _load(self, card, stream: streams.Stream) -> None:
        """Put the outputs of ``card`` on ``stream`` that the cache holds into ``_verdicts`` (once)."""
        what = (card.model, card.variant, stream.device)
        if what in self._loaded:
            return
        self._loaded.add(what)
        hit = streams.CACHE.load("verdicts", self._key(card, stream))
        if hit is None:
            return
        classes = card.classes
        for k, c, score in zip(
            hit["index"].tolist(), hit["label"].tolist(), hit["score"].tolist(), strict=True
        ):
            self._verdicts[(*what, k)] = (classes[c], score)

    def save(self) -> None:
        """Store the model outputs computed since the last save (all of each card × stream)."""
        for (model, variant, device), (card, stream) in self._unsaved.items():
            rows = sorted(
                (key[3], card.classes.index(label), score)
                for key, (label, score) in self._verdicts.items()
                if key[:3] == (model, variant, device)
            )
            index, label, score = (np.array(column) for column in zip(*rows, strict=True))
            arrays = {"index": index.astype(np.int64), "label": label.astype(np.int64), "score": score}
            streams.CACHE.save("verdicts", self._key(card, stream), arrays)
        self._unsaved.clear()

    def verdict(self, card, stream: streams.Stream, k: int) -> tuple[str, float]:
        """The real output (class, score) of ``card`` on input ``k`` of ``stream``."""
        key = (card.model, card.variant, stream.device, k)
        if key not in self._verdicts:
            started = time.perf_counter()
            self._run_model(card, stream, [k])
            self.save()  # an output off the prepared plan: kept for the next run
            self.model_s += time.perf_counter() - started
        return self._verdicts[key]

    def cards_for(self, device: str, model: str) -> list:
        planned = (self.home.deployment.planned(device, model, role) for role in ("serving", "emergency"))
        return [card for card in planned if card is not None]

    def prepare(self) -> None:
        """Batch the model work of the night before it starts: every gated input through
        its source stage's variant (and a timer stage's variant through every gated input
        of the camera it analyses), then those that pass the source's condition through
        each later model stage's variants (and the emergency ones), wherever the stage may
        be placed. The outputs go to (or come from) the cache."""
        first: dict[str, list[tuple[Any, list[int]]]] = defaultdict(list)
        for chain in self.home.chains:
            source = chain["source"]
            device = source["input_from"] if source["trigger"] == "timer" else source["device"]
            stream = self.home.streams.get(device)
            if stream is not None:
                gated = [k for k in range(len(stream)) if stream.gated[k]]
                first[device] += [(card, gated) for card in self.cards_for(source["device"], source["model"])]
        for device, work in first.items():
            self._run_models(self.home.streams[device], work)
        later: dict[str, list[tuple[Any, list[int]]]] = defaultdict(list)
        for chain in self.home.chains:
            source = chain["source"]
            stream = self.home.streams.get(source["device"])
            if source["trigger"] == "timer" or stream is None:
                continue
            serving = self.home.deployment.planned(source["device"], source["model"])
            condition = source["condition"]
            passed = [
                k
                for k in range(len(stream))
                if stream.gated[k]
                and (v := self._verdicts[(serving.model, serving.variant, stream.device, k)])[0]
                in condition["classes"]
                and v[1] >= condition["min_score"]
            ]
            for stage in chain["stages"]:
                if stage is source or not stage["model"]:
                    continue
                inputs = (
                    passed if stage["input"] == "same" else [k + 1 for k in passed if k + 1 < len(stream)]
                )
                for device in sorted({stage["device"], stage["fallback"]} - {None}):
                    later[stream.device] += [
                        (card, inputs) for card in self.cards_for(device, stage["model"])
                    ]
        for device, work in later.items():
            self._run_models(self.home.streams[device], work)
        self.save()
