"""The health app's encrypted cloud risk (``cloud_risk: encrypted``): the phone encrypts the
confirmed capture's rhythm features with CKKS (:mod:`models.encrypted`, real TenSEAL), the
cloud scores the ciphertext, and only the phone decrypts the risk.

Every byte on the WAN is a real serialized size (padded to whole frames,
:func:`models.encrypted.framed_bytes`, the keys to whole MiB, so a run repeats): the phone's
public keys once, then a ciphertext up and an encrypted logit down per capture. Each HE step is charged on the
device that runs it through ``Device.run`` with the step's calibrated card
(:func:`models.encrypted.step_card`), so device time and energy come from the cost model,
never from host time. A :class:`~.records.HeRisk` record marks each step; the decrypt step
carries the plaintext model's risk beside the decrypted one (the accuracy comparison).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from models import encrypted
from simulator.apps.health_escalation.records import HeRisk
from simulator.devices import PRIORITY_URGENT
from simulator.trace import Inference, Message, Note, Trace
from simulator.validate import SpecError

# The public keys' compressed size varies by some 20 KB from one key draw to the next (SEAL
# compresses random polynomials): they travel padded to whole MiB, so the trace repeats.
KEY_FRAME_BYTES = 1 << 20
HE_MESSAGES = {"he_key": "key", "he_query": "up", "he_answer": "down"}
# SEAL draws CKKS encryption noise from the OS (TenSEAL exposes no seed), so the raw decrypted
# risk differs by ~1e-7 from run to run. The phone acts on the risk at 1e-4 (RISK_DECIMALS) and
# checks it against the plaintext model to HE_TOLERANCE: within it, the noise could only decide
# how a tie at the grid rounds, so the grid point is the plaintext's and reruns repeat exactly;
# beyond it (a broken key, too small a scale) the raw decrypted value is what the trace shows.
RISK_DECIMALS = 4
HE_TOLERANCE = 1e-5


def check_he_params(params: dict[str, Any], file: str, where: str) -> None:
    """SpecError naming ``{where}.he_poly_degree`` when the key size is unusable."""
    problem = encrypted.check_he_config(params["he_poly_degree"], encrypted.SCALE_BITS_RANGE[1])
    if problem:
        raise SpecError(f"{file}, {where}.he_poly_degree: {problem.split(': ', 1)[1]}")


class EncryptedRisk:
    """The phone's keys, the cloud's scorer and the step cards of one health app."""

    def __init__(self, app) -> None:
        self.app = app
        degree = app.params["he_poly_degree"]
        started = time.perf_counter()
        self.model, _, costs_by_degree = encrypted.load_artifacts()
        self.costs = costs_by_degree[str(degree)]
        self.cards = {step: encrypted.step_card(self.costs, step) for step in encrypted.HE_STEPS}
        self.keys = encrypted.PhoneKeys(degree, self.costs["scale_bits"])
        self.cloud_scorer: encrypted.CloudScorer | None = None  # made when the keys arrive
        self._keys_event = None  # set while (or once) the public keys travel to the cloud
        app.model_s += time.perf_counter() - started

    def _record(self, device, step: str, episode: int, size: int, plain: float, decrypted=None):
        app = self.app
        app.sim.trace.append(
            HeRisk(app.env.now, app.name, device.name, step, episode, size, plain, decrypted)
        )

    def _send(self, device, kind: str, size: int, what: str):
        """Send over the WAN with the app's retries; a Note and False when it fails."""
        app = self.app
        status = yield from app.wan.send(
            device, kind, size, retries=app.params["retries"], wait_for_link_s=3600.0
        )
        if status != "delivered":
            app.sim.trace.append(Note(app.env.now, device.name, "failed", f"{what} not delivered ({status})"))
        return status == "delivered"

    def _keys_at_cloud(self):
        """The phone's public keys reach the cloud once; a capture confirmed while they are
        on their way waits for them instead of sending them again."""
        if self._keys_event is None:
            self._keys_event = event = self.app.env.event()
            size = -(-len(self.keys.public_context) // KEY_FRAME_BYTES) * KEY_FRAME_BYTES
            delivered = yield from self._send(self.app.phone, "he_key", size, "HE public keys")
            if delivered:
                started = time.perf_counter()
                self.cloud_scorer = encrypted.CloudScorer(self.keys.public_context, self.model)
                self.app.model_s += time.perf_counter() - started
            else:
                self._keys_event = None  # the next capture tries again
            event.succeed(delivered)
            return delivered
        return (yield self._keys_event)

    def run(self, item: dict[str, Any], episode: int):
        """One encrypted scoring of a confirmed capture (a SimPy process)."""
        app, phone, cloud = self.app, self.app.phone, self.app.cloud
        started = time.perf_counter()
        features = encrypted.rhythm_features(item["ecg"], item["accel_g"])
        plain = round(float(self.model.risk(features)), 6)
        ciphertext = self.keys.encrypt(features)
        app.model_s += time.perf_counter() - started
        size = encrypted.framed_bytes(len(ciphertext))
        if not (yield phone.run(self.cards["encrypt"], 1, "encrypted", plain, PRIORITY_URGENT)):
            return
        self._record(phone, "encrypt", episode, size, plain)
        if not (yield from self._keys_at_cloud()):
            return
        if not (yield from self._send(phone, "he_query", size, "HE query")):
            return
        started = time.perf_counter()
        answer = self.cloud_scorer.score(ciphertext)
        app.model_s += time.perf_counter() - started
        answer_size = encrypted.framed_bytes(len(answer))
        if not (yield cloud.run(self.cards["evaluate"], 1, "encrypted", 0.0)):
            return
        self._record(cloud, "evaluate", episode, answer_size, plain)
        if not (yield from self._send(cloud, "he_answer", answer_size, "HE answer")) or not phone.on:
            return
        started = time.perf_counter()
        decrypted = self.keys.decrypt_risk(answer)
        app.model_s += time.perf_counter() - started
        risk = decrypted_risk(decrypted, plain)
        if not (yield phone.run(self.cards["decrypt"], 1, "risk", risk, PRIORITY_URGENT)):
            return
        self._record(phone, "decrypt", episode, 0, plain, risk)


def decrypted_risk(decrypted: float, plain: float) -> float:
    """The risk the phone records, at ``RISK_DECIMALS``: the plaintext's grid point when CKKS
    agrees with it to ``HE_TOLERANCE`` (see the note at ``RISK_DECIMALS``), else the raw value's."""
    return round(plain if abs(decrypted - plain) <= HE_TOLERANCE else decrypted, RISK_DECIMALS)


def encrypted_metrics(trace: Trace, end_s: float, app: str, phone: str, cloud: str) -> dict[str, Any]:
    """Bytes, device compute and accuracy of the encrypted cloud risk, from the trace."""
    records = trace.until(end_s)
    steps = [r for r in records if type(r) is HeRisk and r.app == app]
    bytes_by = {"key": 0, "up": 0, "down": 0}
    for r in records:
        if type(r) is Message and r.msg_kind in HE_MESSAGES and r.src in (phone, cloud):
            bytes_by[HE_MESSAGES[r.msg_kind]] += r.size_bytes
    compute = {phone: [0.0, 0.0], cloud: [0.0, 0.0]}
    for r in records:
        if type(r) is Inference and r.model == "he_risk" and r.device in compute:
            compute[r.device][0] += r.end_t - r.t
            compute[r.device][1] += r.energy_j
    done = [r for r in steps if r.step == "decrypt"]
    errors = [abs(r.decrypted - round(r.plain, RISK_DECIMALS)) for r in done]
    agree = [(r.decrypted >= 0.5) == (r.plain >= 0.5) for r in done]
    queries = sum(1 for r in steps if r.step == "encrypt")
    return {
        "queries": queries,
        "answers_decrypted": len(done),
        "key_bytes": bytes_by["key"],
        "ciphertext_bytes_up": bytes_by["up"],
        "ciphertext_bytes_down": bytes_by["down"],
        "phone_compute_ms": round(compute[phone][0] * 1e3, 4),
        "phone_compute_mj": round(compute[phone][1] * 1e3, 4),
        "cloud_compute_ms": round(compute[cloud][0] * 1e3, 4),
        "cloud_compute_mj": round(compute[cloud][1] * 1e3, 4),
        "answers_within_tolerance": sum(1 for e in errors if e == 0.0),
        "risk_tolerance": HE_TOLERANCE,
        "decisions_agree": round(sum(agree) / len(agree), 4) if agree else None,
        "mean_plain_risk": round(float(np.mean([r.plain for r in done])), 4) if done else None,
    }
