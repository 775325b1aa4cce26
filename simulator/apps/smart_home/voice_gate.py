"""The speaker's voice gate in front of the keyword model (param ``voice_gate``).

- ``loudness`` (default): the loudness rule of :func:`.gating.voice_activity` against
  ``vad_ratio`` (pure numpy; its compute is not charged, as before).
- ``none``: no gate. The keyword model then listens to every second of audio: each window
  the microphone hears goes to the chain, and every other second costs one keyword call too,
  charged as an always-on load ``always_listening`` (one call per window length).
- ``MODEL`` or ``MODEL:VARIANT``: a voice-activity model from the user's model store (``main.py
  models import``), e.g. ``silero-vad`` or ``silero-vad:dynamic``. It runs always-on on the
  speaker: every second of audio is one call of its card (31 windows of 32 ms, the card's
  input), charged by the one cost function as the load ``voice_gate`` (energy per call over
  the audio it covers); a window passes when its speech score is at least ``vad_threshold``.
  The packaged example ``silero-vad`` is imported from its pip package on first use when the
  store lacks it (:func:`models.importer.vad.ensure_imported`); any other missing name is an
  error at load.

Light to import (no ONNX Runtime, no torch): the model runs in :func:`speech_scores`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np

from simulator.trace import Inference, PowerState
from simulator.validate import SpecError

GATE_LOAD = "voice_gate"  # the always-on VAD model, a load on the speaker
LISTEN_LOAD = "always_listening"  # no gate: the keyword model on every second of audio
RULES = ("loudness", "none")
EXAMPLE = "silero-vad"  # ships in the silero-vad pip package (requirements.txt)
DAY_S = 86400.0
# silero's window at 16 kHz and the context before it (models.importer.vad's CHUNK and
# CONTEXT; not imported here: models.importer loads onnx, and the loader stays light).
CHUNK, CONTEXT, RATE = 512, 64, 16000
HINT = "import it first: python main.py models import FILE.onnx --name {model} (docs/import.md shows silero-vad's)"


def parse(value: str) -> tuple[str, str]:
    """``(model, variant)`` of a model gate (variant ``fp32`` when not given)."""
    model, _, variant = value.partition(":")
    return model, variant or "fp32"


def is_model(params: dict) -> bool:
    return params["voice_gate"] not in RULES


def check(params: dict[str, Any], file: str, where: str) -> None:
    """A model gate names a two-class streaming model of silero's input in the store (light:
    cards only); the packaged example may be absent (it is imported on first use)."""
    if not is_model(params):
        return
    from models.cards import find_card
    from models.store import store_dir, stored_models

    at = f"{file}, {where}.voice_gate"
    model, variant = parse(params["voice_gate"])
    if not model:
        raise SpecError(f"{at}: expected 'loudness', 'none' or MODEL[:VARIANT], got {params['voice_gate']!r}")
    try:
        card = find_card(model, variant)
    except ValueError:
        if model == EXAMPLE and importlib.util.find_spec("silero_vad") is not None:
            return  # imported (and compressed) from the pip package when the run starts
        held = stored_models()
        if model in held:
            missing = f"{model!r} has no variant {variant!r} in the model store {store_dir()}"
            hint = f"make it first: python main.py compress {model} --recipe {variant}"
        else:
            missing = (
                f"no model {model!r} in the model store {store_dir()} (it holds: {', '.join(held) or 'none'})"
            )
            hint = HINT.format(model=model)
        raise SpecError(f"{at}: {missing}; {hint}") from None
    recurrent = (card.extra or {}).get("graph", {}).get("recurrent")
    if len(card.classes) != 2 or not recurrent or card.input_shape[1:] != [CHUNK + CONTEXT]:
        raise SpecError(
            f"{at}: {model}:{variant} is not a voice-activity model of silero's input "
            f"(two classes, a recurrent graph over 32 ms windows of {CHUNK + CONTEXT} samples); "
            f"it has classes {card.classes}, input {card.input_shape}"
        )


def gate_card(params: dict, devices_fit: Callable | None = None):
    """The gate model's card (importing the packaged example first when the store lacks it)."""
    from models.importer.vad import ensure_imported

    model, variant = parse(params["voice_gate"])
    return ensure_imported(model, variant, devices_fit)


def speech_scores(params: dict, clips: Callable[[], np.ndarray], n: int) -> np.ndarray:
    """The gate model's speech probability of each 1 s clip (ONNX Runtime, batched)."""
    from models import runtime
    from models.importer.vad import windows_of

    if n == 0:
        return np.zeros(0)
    model, variant = parse(params["voice_gate"])
    predictor = runtime.load(model, variant)
    return predictor.predict_proba(windows_of(clips()))[:, 1].astype(np.float64)


def card_fingerprint(card) -> str:
    """What a gate model's scores depend on: its model, variant and artifact's bytes."""
    import hashlib

    from models.store import model_root

    artifact = model_root(card.model) / card.model / card.artifact
    return f"{card.model}:{card.variant}:{hashlib.sha256(artifact.read_bytes()).hexdigest()}"


def audio_s(card) -> float:
    """Seconds of audio one call of a gate card covers (its steps × 32 ms)."""
    return card.input_shape[0] * CHUNK / RATE


def load_w(device, params: dict, gate, keyword_card) -> dict[str, float]:
    """The always-on loads the gate puts on the speaker (W), from the one cost function."""
    if params["voice_gate"] == "none" and keyword_card is not None:
        return {LISTEN_LOAD: device.cost(keyword_card, 1).energy_j / 1.0}  # one 1 s window per second
    if gate is None:
        return {}
    return {GATE_LOAD: device.cost(gate, 1).energy_j / audio_s(gate)}


class Gate:
    """The speaker's gate for one night: its model's card (``home.voice_gate``, read by the
    sound stream) and the always-on loads it puts on the speaker (``start``)."""

    def __init__(self, home) -> None:
        params = home.params
        speaker = params["speaker"]
        self.device = home.device(speaker)
        keyword = next(
            (s["model"] for c in home.chains for s in c["stages"] if s["trigger"] == "sound" and s["model"]),
            None,
        )
        self.facts: dict[str, Any] | None = None
        self.card = None
        if params["voice_gate"] == "loudness" or keyword is None:
            return
        at = f"{home.file}, {home.where}.params.voice_gate"
        if is_model(params):
            from models.importer import ImportFailure
            from simulator.recommend import devices_that_fit

            try:
                card = gate_card(params, devices_that_fit)
            except (ValueError, ImportFailure, FileNotFoundError) as error:
                raise SpecError(f"{at}: {params['voice_gate']!r}: {error}") from None
            cost = self.device.cost(card, 1)
            if not cost.fits_memory:
                raise SpecError(
                    f"{at}: {card.model}:{card.variant} needs {cost.memory_needed_bytes / 1e6:.1f} MB, "
                    f"{speaker!r} has {cost.memory_budget_bytes / 1e6:.1f} MB for models"
                )
            home.voice_gate = self.card = card
        loads = load_w(self.device, params, home.voice_gate, home.deployment.serving(speaker, keyword))
        self.facts = {"gate": params["voice_gate"], "keyword_model": keyword, "loads_w": loads}

    def start(self, streams: dict) -> dict[str, Any]:
        """Switch the gate's loads on (the speaker listens from the start); a window the gate
        model scores reaches the keyword model when the model's call on it has finished (its
        device latency, on the speaker's clock). Returns the summary's facts."""
        for name, power_w in self.facts["loads_w"].items():
            self.device.add_load(name, power_w)
        stream = streams.get(self.device.name)
        if self.card is not None and stream is not None:
            latency_s = self.device.cost(self.card, 1).latency_s
            stream.ready_s = [round(t + latency_s, 6) for t in stream.ready_s]
            self.facts["latency_s"] = latency_s
        return self.facts


def summary(records: list, facts: dict, speaker: str, windows: int, end_s: float) -> dict[str, Any]:
    """Keyword-model calls and the speaker's energy per day (from its records), with the gate;
    ``windows``: what the microphone heard by ``end_s`` (without a gate, every other second of
    audio is one more keyword call, paid by the ``always_listening`` load)."""
    gate = facts.get("voice_gate") or {"gate": "loudness", "loads_w": {}, "keyword_model": None}
    energy, since, power = 0.0, 0.0, 0.0
    calls = 0
    keyword = gate.get("keyword_model")
    for r in records:
        kind = type(r)
        if kind is PowerState and r.device == speaker:
            energy += power * (r.t - since)
            since, power = r.t, r.power_w
        elif kind is Inference and r.device == speaker:
            energy += r.energy_j
            calls += keyword is None or r.model == keyword
    energy += power * max(end_s - since, 0.0)
    days = max(end_s, 1e-9) / DAY_S
    listening = max(int(end_s) - windows, 0) if LISTEN_LOAD in gate["loads_w"] else 0
    return {
        "gate": gate["gate"],
        "keyword_calls_per_day": round((calls + listening) / days, 1),
        "speaker_energy_j_per_day": round(energy / days, 1),
        "gate_energy_j_per_day": round(sum(gate["loads_w"].values()) * DAY_S, 2),
        "gate_w": {k: round(v, 6) for k, v in gate["loads_w"].items()},
    }
