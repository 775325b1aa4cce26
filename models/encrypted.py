"""Encrypted cloud inference: the cloud scores the phone's ECG without seeing it.

The phone turns a captured ECG (3 × 10 s) into a rhythm feature vector (:func:`rhythm_features`:
rate, RR irregularity, premature-beat pattern, wrist motion), encrypts it with CKKS
(TenSEAL, Microsoft SEAL underneath) and sends the ciphertext. The cloud holds the risk model
(:class:`RiskModel`, logistic regression trained here on wearer days of our own generator,
the scaler folded into the weights) and evaluates its linear part on the ciphertext: one
plaintext-ciphertext multiply and a rotate-and-sum, one multiplicative level. Only the phone,
which alone has the secret key, decrypts the logit and applies the sigmoid.

The phone's public context (public, relinearization and Galois keys) goes to the cloud once.
Costs on a device come from :func:`calibrate`: each HE step is timed on this host side by
side with a reference of known work (the fp32 ECG verifier, batch 64, on ONNX Runtime) and
expressed as *equivalent MACs* (step time / reference time × reference MACs); the simulator
charges those MACs on the device's fp32 engine with its own cost function, so host time is
never device time. ``python -m models.encrypted`` trains the model and writes the calibration
(``models/artifacts/he_risk/``).
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.cards import ARTIFACTS_DIR, ModelCard
from models.data import ecg, wearer

HE_DIR = ARTIFACTS_DIR / "he_risk"
FEATURES = (
    "rate_per_100_bpm",
    "below_50_bpm_per_10",
    "above_100_bpm_per_10",
    "sdnn_rel",
    "rmssd_rel",
    "large_steps_fraction",
    "premature_fraction",
    "short_long_fraction",
    "residual_rmssd_rel",
    "strip_rate_spread_per_10_bpm",
    "wrist_motion_g",
)
# 128-bit security limits of the total coefficient modulus per degree (SEAL's
# CoeffModulus::MaxBitCount, from the HomomorphicEncryption.org standard).
MAX_COEFF_BITS = {8192: 218, 16384: 438, 32768: 881}
POLY_MODULUS_DEGREES = (8192, 16384)  # 4096 holds too few bits for a 2^40 scale (measured: wrong sums)
SCALE_BITS_RANGE = (30, 40)
SPECIAL_PRIME_BITS = 60
FRAME_BYTES = 4096  # ciphertexts are padded to whole frames: the size says nothing, runs repeat
TRAIN_DAYS = range(3_000_000, 3_000_300)
HELDOUT_DAYS = range(4_000_000, 4_000_100)
CAPTURES_PER_DAY = 20


# --- features --------------------------------------------------------------------------


def _r_peaks(signal: np.ndarray, fs: int) -> np.ndarray:
    """R-peak sample indices: local maxima of the smoothed squared slope (polarity-free, so
    an inverted lead or a negative PVC is found too), at least 250 ms apart."""
    slope = np.diff(signal, prepend=signal[:1])
    width = max(int(0.08 * fs), 1)
    energy = np.convolve(slope * slope, np.ones(width) / width, mode="same")
    threshold = 0.2 * np.percentile(energy, 99)
    inner = energy[1:-1]
    candidates = np.flatnonzero((inner > threshold) & (inner >= energy[:-2]) & (inner > energy[2:])) + 1
    peaks: list[int] = []
    for i in candidates.tolist():
        if not peaks or i - peaks[-1] > 0.25 * fs:
            peaks.append(i)
        elif energy[i] > energy[peaks[-1]]:
            peaks[-1] = i
    return np.asarray(peaks)


def rhythm_features(strips: np.ndarray, accel_g: float, fs: int = ecg.FS_HZ) -> np.ndarray:
    """The feature vector of one capture (``strips``: ``(S, L)`` ECG in mV), see :data:`FEATURES`."""
    intervals, rates = [], []
    for strip in np.atleast_2d(strips):
        rr = np.diff(_r_peaks(np.asarray(strip, np.float64), fs)) / fs
        if rr.size:
            intervals.append(rr)
            rates.append(60.0 / rr.mean())
    rr = np.concatenate(intervals) if intervals else np.array([1.0])
    median = float(np.median(rr))
    rate = 60.0 / float(rr.mean())
    steps = np.concatenate([np.diff(r) for r in intervals]) if intervals else np.zeros(1)
    steps = steps if steps.size else np.zeros(1)
    premature = rr < 0.8 * median
    short_long = premature[:-1] & (rr[1:] > 1.15 * median) if rr.size > 1 else np.zeros(1, bool)
    regular = rr[(rr >= 0.8 * median) & (rr <= 1.15 * median)]
    residual = np.sqrt(np.mean(np.diff(regular) ** 2)) / median if regular.size > 2 else 0.0
    return np.array(
        [
            rate / 100.0,
            max(0.0, 50.0 - rate) / 10.0,
            max(0.0, rate - 100.0) / 10.0,
            float(rr.std()) / median,
            float(np.sqrt(np.mean(steps**2))) / median,
            float(np.mean(np.abs(steps) > 0.1 * median)),
            float(premature.mean()),
            float(short_long.mean()) if short_long.size else 0.0,
            float(residual),
            float(np.std(rates)) / 10.0 if rates else 0.0,
            float(accel_g),
        ],
        np.float64,
    )


def risk_dataset(day_seeds, captures: int = CAPTURES_PER_DAY) -> tuple[np.ndarray, np.ndarray]:
    """Captures (3 × 10 s, as the watch takes them) of generated wearer days: ``(x (N, F), y)``.

    Half the days carry premature beats (burden 2-25 %); half the captures are at random
    times, half inside episodes. ``y`` = 1 when the capture starts inside an arrhythmia
    episode (the truth a doctor would want to see), whatever the ECG's rate says.
    """
    xs, ys = [], []
    for seed in day_seeds:
        rng = np.random.default_rng([seed, 3])
        day = wearer.random_day(int(seed), n_episodes=int(rng.integers(1, 5)))
        if rng.random() < 0.5:
            day = wearer.add_ectopy(day, rng.uniform(0.02, 0.25), rng.uniform(0.2, 0.9), rng)
        times = list(rng.uniform(0.0, wearer.DAY_S - 30.0, captures - captures // 2))
        for _ in range(captures // 2):
            episode = day.episodes[rng.integers(len(day.episodes))]
            times.append(rng.uniform(episode.start_s, episode.end_s - 30.0))
        for t_s in times:
            strips = np.stack([wearer.capture_ecg(day, t_s + 10.0 * k, rng) for k in range(3)])
            accel = float(day.accel_g[day.index_at(t_s)])
            xs.append(rhythm_features(strips, accel))
            ys.append(int(wearer.rhythm_at(day, t_s) != 0))
    return np.stack(xs), np.asarray(ys, np.int64)


# --- the risk model ----------------------------------------------------------------------


@dataclass(frozen=True)
class RiskModel:
    """Logistic regression on raw features (standardization folded into the weights)."""

    weights: np.ndarray  # (F,)
    bias: float

    def logit(self, features: np.ndarray) -> np.ndarray:
        return np.asarray(features) @ self.weights + self.bias

    def risk(self, features: np.ndarray) -> np.ndarray:
        return sigmoid(self.logit(features))

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(FEATURES), "weights": self.weights.tolist(), "bias": self.bias}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RiskModel:
        if list(data["features"]) != list(FEATURES):
            raise ValueError(f"risk model features {data['features']} differ from {list(FEATURES)}")
        return cls(np.asarray(data["weights"], np.float64), float(data["bias"]))


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, np.float64)))


def fit_risk_model(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, iterations: int = 30) -> RiskModel:
    """Newton's method (IRLS) on standardized features; deterministic."""
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.column_stack([(x - mean) / std, np.ones(len(x))])
    beta = np.zeros(z.shape[1])
    penalty = l2 * len(x) * np.diag([1.0] * (z.shape[1] - 1) + [0.0])
    for _ in range(iterations):
        p = sigmoid(z @ beta)
        gradient = z.T @ (p - y) + penalty @ beta
        hessian = (z * (p * (1 - p))[:, None]).T @ z + penalty
        beta -= np.linalg.solve(hessian, gradient)
    weights = beta[:-1] / std
    return RiskModel(weights, float(beta[-1] - weights @ mean))


# --- CKKS ------------------------------------------------------------------------------


def check_he_config(poly_modulus_degree: int, scale_bits: int) -> str | None:
    """None when the key size is usable, else what is wrong (the field named first)."""
    if poly_modulus_degree not in POLY_MODULUS_DEGREES:
        return (
            f"poly_modulus_degree: expected one of {', '.join(map(str, POLY_MODULUS_DEGREES))} "
            f"(CKKS ring degree; 4096 leaves too few bits for a 2^40 scale), got {poly_modulus_degree!r}"
        )
    lo, hi = SCALE_BITS_RANGE
    if isinstance(scale_bits, bool) or not isinstance(scale_bits, int) or not lo <= scale_bits <= hi:
        return f"scale_bits: expected an integer {lo}-{hi} (CKKS precision), got {scale_bits!r}"
    total = sum(coeff_mod_bit_sizes(scale_bits))
    if total > MAX_COEFF_BITS[poly_modulus_degree]:
        return (
            f"scale_bits: {scale_bits} needs a {total}-bit coefficient modulus, over the "
            f"{MAX_COEFF_BITS[poly_modulus_degree]} bits 128-bit security allows at degree {poly_modulus_degree}"
        )
    return None


def coeff_mod_bit_sizes(scale_bits: int) -> list[int]:
    """One level (the plaintext multiply) between two special primes."""
    return [SPECIAL_PRIME_BITS, scale_bits, SPECIAL_PRIME_BITS]


class PhoneKeys:
    """The phone's CKKS keys: encrypts features, decrypts the cloud's answer, and gives the
    public context (no secret key) for the cloud."""

    def __init__(self, poly_modulus_degree: int = 8192, scale_bits: int = 40):
        problem = check_he_config(poly_modulus_degree, scale_bits)
        if problem:
            raise ValueError(problem)
        import tenseal as ts  # deferred: only encrypted inference needs SEAL

        self._ts = ts
        self.context = ts.context(
            ts.SCHEME_TYPE.CKKS,
            poly_modulus_degree=poly_modulus_degree,
            coeff_mod_bit_sizes=coeff_mod_bit_sizes(scale_bits),
        )
        self.context.global_scale = 2.0**scale_bits
        self.context.generate_galois_keys()  # the cloud's rotate-and-sum needs them
        public = self.context.copy()
        public.make_context_public()
        self.public_context = public.serialize(save_galois_keys=True, save_relin_keys=True)

    def encrypt(self, features: np.ndarray) -> bytes:
        return self._ts.ckks_vector(self.context, np.asarray(features, np.float64).tolist()).serialize()

    def decrypt_risk(self, answer: bytes) -> float:
        return float(sigmoid(self._ts.ckks_vector_from(self.context, answer).decrypt()[0]))


class CloudScorer:
    """The cloud's side: the risk model and the phone's public context (no secret key)."""

    def __init__(self, public_context: bytes, model: RiskModel):
        import tenseal as ts

        self._ts = ts
        self.context = ts.context_from(public_context)
        if self.context.has_secret_key():
            raise ValueError("the cloud must not hold the secret key")
        self.model = model

    def score(self, ciphertext: bytes) -> bytes:
        """Encrypted logit ``w · x + b`` of an encrypted feature vector."""
        vector = self._ts.ckks_vector_from(self.context, ciphertext)
        return (vector.dot(self.model.weights.tolist()) + self.model.bias).serialize()


def framed_bytes(size: int) -> int:
    """Bytes on the link for a payload of ``size``: padded to whole :data:`FRAME_BYTES`."""
    return -(-size // FRAME_BYTES) * FRAME_BYTES


# --- calibration -----------------------------------------------------------------------

HE_STEPS = ("encrypt", "evaluate", "decrypt")
STEP_DEVICE = {"encrypt": "phone", "evaluate": "cloud", "decrypt": "phone"}


def _reference():
    """A call of known work: the fp32 ECG verifier at batch 64 on ONNX Runtime (its card's MACs)."""
    from models import runtime

    predictor = runtime.load("ecg_verifier", "fp32")
    x = np.random.default_rng(0).normal(0, 0.3, (64, *predictor.input_shape)).astype(np.float32)
    return (lambda: predictor.predict_proba(x)), 64 * predictor.card.macs


def calibrate(poly_modulus_degree: int, scale_bits: int, model: RiskModel, repeats: int = 30) -> dict:
    """Host time of each HE step side by side with the reference, and each step's
    equivalent MACs (median step time / median reference time × reference MACs)."""
    keys = PhoneKeys(poly_modulus_degree, scale_bits)
    cloud = CloudScorer(keys.public_context, model)
    features = risk_dataset(HELDOUT_DAYS[:1], captures=4)[0]
    reference, reference_macs = _reference()
    reference()
    times: dict[str, list[float]] = {step: [] for step in ("reference", *HE_STEPS)}
    sizes, answers = [], []
    for i in range(repeats):
        x = features[i % len(features)]
        started = time.perf_counter()
        reference()
        times["reference"].append(time.perf_counter() - started)
        started = time.perf_counter()
        ciphertext = keys.encrypt(x)
        times["encrypt"].append(time.perf_counter() - started)
        started = time.perf_counter()
        answer = cloud.score(ciphertext)
        times["evaluate"].append(time.perf_counter() - started)
        started = time.perf_counter()
        keys.decrypt_risk(answer)
        times["decrypt"].append(time.perf_counter() - started)
        sizes.append(len(ciphertext))
        answers.append(len(answer))
    reference_s = statistics.median(times["reference"])
    steps = {}
    for step in HE_STEPS:
        step_s = statistics.median(times[step])
        steps[step] = {
            "device": STEP_DEVICE[step],
            "host_ms": round(step_s * 1e3, 4),
            "equivalent_macs": int(step_s / reference_s * reference_macs),
        }
    return {
        "poly_modulus_degree": poly_modulus_degree,
        "scale_bits": scale_bits,
        "coeff_mod_bit_sizes": coeff_mod_bit_sizes(scale_bits),
        "reference": {
            "what": "ecg_verifier fp32 ONNX Runtime, batch 64, one thread",
            "macs": int(reference_macs),
            "host_ms": round(reference_s * 1e3, 4),
        },
        "steps": steps,
        "public_context_bytes": len(keys.public_context),
        "ciphertext_bytes": {"min": min(sizes), "median": int(statistics.median(sizes)), "max": max(sizes)},
        "answer_bytes": {"min": min(answers), "max": max(answers)},
        "plaintext_feature_bytes": 8 * len(FEATURES),
        "repeats": repeats,
    }


def step_card(costs: dict, step: str) -> ModelCard:
    """A card for one HE step, for the simulator's cost function: its equivalent MACs run on
    the device's fp32 engine; the keys (cloud) or a ciphertext (phone) are its bytes."""
    info = costs["steps"][step]
    degree = costs["poly_modulus_degree"]
    return ModelCard(
        model="he_risk",
        variant=f"{step}-ckks{degree}",
        task=f"CKKS {step} of the ECG rhythm risk (degree {degree})",
        classes=["risk"],
        input_shape=[len(FEATURES)],
        precision="fp32",
        params=len(FEATURES) + 1,
        macs=int(info["equivalent_macs"]),
        bytes=int(costs["public_context_bytes"] if step == "evaluate" else costs["ciphertext_bytes"]["max"]),
        peak_activation_bytes=int(costs["ciphertext_bytes"]["max"]),
        accuracy=0.0,
        latency_ms_b1=float(info["host_ms"]),
        latency_ms_b64=0.0,
        recipe=(
            f"equivalent MACs = host {info['host_ms']} ms / reference "
            f"{costs['reference']['host_ms']} ms × {costs['reference']['macs']} MACs"
        ),
        artifact="costs.json",
        runtime="tenseal",
        privacy_level="encrypted",
        extra={"he_step": step},
    )


def plain_scoring_card(costs: dict) -> ModelCard:
    """A card for scoring plaintext features (the comparison): one MAC per weight."""
    card = step_card(costs, "evaluate")
    card.variant, card.task = "plain", "plaintext scoring of the ECG rhythm risk"
    card.macs, card.params = len(FEATURES), len(FEATURES) + 1
    card.bytes = card.peak_activation_bytes = 8 * (len(FEATURES) + 1)
    card.recipe, card.privacy_level, card.extra = "logistic regression, float64", "cloud-plaintext", {}
    return card


def load_artifacts(root: Path = HE_DIR) -> tuple[RiskModel, dict, dict]:
    """``(model, model file, calibration by degree)``; ValueError naming the missing file."""
    model_path, costs_path = Path(root) / "risk_model.json", Path(root) / "costs.json"
    for path in (model_path, costs_path):
        if not path.exists():
            raise ValueError(f"{path} is missing: run `python -m models.encrypted`")
    data = json.loads(model_path.read_text())
    return RiskModel.from_dict(data), data, json.loads(costs_path.read_text())


def evaluate_model(model: RiskModel, x: np.ndarray, y: np.ndarray, threshold: float = 0.5) -> dict:
    predicted = model.risk(x) >= threshold
    positives = y == 1
    return {
        "accuracy": round(float((predicted == positives).mean()), 5),
        "sensitivity": round(float(predicted[positives].mean()), 5),
        "specificity": round(float((~predicted[~positives]).mean()), 5),
        "n": int(len(y)),
    }


def build(root: Path = HE_DIR, log=print) -> dict:
    """Train the risk model, measure it, calibrate every key size; write the artifacts."""
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    x_train, y_train = risk_dataset(TRAIN_DAYS)
    x_test, y_test = risk_dataset(HELDOUT_DAYS)
    model = fit_risk_model(x_train, y_train)
    log(
        f"[he_risk] data and fit: {len(y_train)} train, {len(y_test)} held-out ({time.perf_counter() - started:.0f} s)"
    )
    data = {
        **model.to_dict(),
        "train": evaluate_model(model, x_train, y_train),
        "heldout": evaluate_model(model, x_test, y_test),
        "data": (
            f"risk_dataset: wearer days {TRAIN_DAYS.start}-{TRAIN_DAYS.stop - 1} (train), "
            f"{HELDOUT_DAYS.start}-{HELDOUT_DAYS.stop - 1} (held out), {CAPTURES_PER_DAY} captures each"
        ),
        "label": "1 = the capture starts inside an arrhythmia episode",
    }
    (root / "risk_model.json").write_text(json.dumps(data, indent=2) + "\n")
    costs = {str(degree): calibrate(degree, 40, model) for degree in POLY_MODULUS_DEGREES}
    (root / "costs.json").write_text(json.dumps(costs, indent=2) + "\n")
    log(f"[he_risk] held-out {data['heldout']}; calibrated in {time.perf_counter() - started:.0f} s")
    return {"model": data, "costs": costs}


if __name__ == "__main__":
    import torch

    torch.set_num_threads(1)
    build()
