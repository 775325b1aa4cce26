"""Encrypted cloud inference (CKKS, TenSEAL) against the plaintext risk model, measured.

    python bench/encrypted_inference.py [--captures 200] [--poly-modulus-degree 8192]
                                        [--scale-bits 40] [--recalibrate] [--json]

On held-out wearer captures (``models.encrypted.HELDOUT_DAYS``) the phone encrypts each
rhythm feature vector, the cloud scores the ciphertext and the phone decrypts; the table
gives the risk error and decision agreement against the plaintext model, both models'
accuracy against the episode truth, the bytes (real serialized sizes), each step's host
time (median, side by side with the reference call) and the device time and energy the
simulator charges (``simulator.compute.estimate_card`` of the step's equivalent MACs on the
phone's and the cloud's fp32 engine). A bad key size exits 2 naming the field.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models import encrypted  # noqa: E402
from simulator.compute import estimate, estimate_card  # noqa: E402
from simulator.profiles import load_profile  # noqa: E402

ECG_UPLOAD_BYTES = 3 * 1250 * 2 + 512  # what the doctor alert carries: the raw 3 × 10 s ECG


def measure(captures: int, degree: int, scale_bits: int, recalibrate: bool) -> dict:
    import torch

    torch.set_num_threads(1)
    model, model_file, costs_by_degree = encrypted.load_artifacts()
    costs = costs_by_degree.get(str(degree))
    if recalibrate or costs is None or costs["scale_bits"] != scale_bits:
        costs = encrypted.calibrate(degree, scale_bits, model)
    x, y = encrypted.risk_dataset(
        encrypted.HELDOUT_DAYS[: max(1, -(-captures // encrypted.CAPTURES_PER_DAY))]
    )
    x, y = x[:captures], y[:captures]
    keys = encrypted.PhoneKeys(degree, scale_bits)
    cloud = encrypted.CloudScorer(keys.public_context, model)
    encrypted_risk, sizes = [], []
    started = time.perf_counter()
    for features in x:
        ciphertext = keys.encrypt(features)
        sizes.append(len(ciphertext))
        encrypted_risk.append(keys.decrypt_risk(cloud.score(ciphertext)))
    wall_s = time.perf_counter() - started
    encrypted_risk = np.asarray(encrypted_risk)
    plain_risk = model.risk(x)
    devices = {}
    for step in encrypted.HE_STEPS:
        card = encrypted.step_card(costs, step)
        profile = load_profile(encrypted.STEP_DEVICE[step])
        cost = estimate_card(profile, card)
        devices[step] = {
            "device": encrypted.STEP_DEVICE[step],
            "host_ms": costs["steps"][step]["host_ms"],
            "equivalent_macs": card.macs,
            "device_ms": round(cost.latency_s * 1e3, 4),
            "device_energy_mj": round(cost.energy_j * 1e3, 4),
        }
    features = len(encrypted.FEATURES)
    plain = estimate(load_profile("cloud"), features, 8 * (features + 1), "fp32")
    return {
        "poly_modulus_degree": degree,
        "scale_bits": scale_bits,
        "captures": int(len(y)),
        "risk_abs_error_max": float(np.abs(encrypted_risk - plain_risk).max()),
        "risk_abs_error_median": float(np.median(np.abs(encrypted_risk - plain_risk))),
        "decisions_agree": float(((encrypted_risk >= 0.5) == (plain_risk >= 0.5)).mean()),
        "accuracy_plain": float(((plain_risk >= 0.5) == (y == 1)).mean()),
        "accuracy_encrypted": float(((encrypted_risk >= 0.5) == (y == 1)).mean()),
        "model_heldout": model_file["heldout"],
        "bytes": {
            "public_context_once": costs["public_context_bytes"],
            "ciphertext_up_median": int(np.median(sizes)),
            "ciphertext_up_on_link": encrypted.framed_bytes(max(sizes)),
            "answer_down": costs["answer_bytes"]["max"],
            "answer_down_on_link": encrypted.framed_bytes(costs["answer_bytes"]["max"]),
            "plaintext_features": costs["plaintext_feature_bytes"],
            "raw_ecg_upload": ECG_UPLOAD_BYTES,
        },
        "steps": devices,
        "reference": costs["reference"],
        "plain_cloud_ms": round(plain.latency_s * 1e3, 4),
        "host_wall_s_end_to_end": round(wall_s, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captures", type=int, default=200)
    parser.add_argument("--poly-modulus-degree", type=int, default=8192)
    parser.add_argument("--scale-bits", type=int, default=40)
    parser.add_argument("--recalibrate", action="store_true", help="measure the step costs now")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    problem = encrypted.check_he_config(args.poly_modulus_degree, args.scale_bits)
    if problem:
        field, _, why = problem.partition(": ")
        print(f"error: --{field.replace('_', '-')}: {why}", file=sys.stderr)
        return 2
    if args.captures < 1:
        print(f"error: --captures: expected ≥ 1, got {args.captures}", file=sys.stderr)
        return 2
    try:
        result = measure(args.captures, args.poly_modulus_degree, args.scale_bits, args.recalibrate)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    b = result["bytes"]
    print(
        f"CKKS degree {result['poly_modulus_degree']}, scale 2^{result['scale_bits']}, "
        f"{result['captures']} held-out captures"
    )
    print(
        f"risk |encrypted - plain|: max {result['risk_abs_error_max']:.2e}, median "
        f"{result['risk_abs_error_median']:.2e}; decisions agree {result['decisions_agree']:.4f}; "
        f"accuracy plain {result['accuracy_plain']:.4f} vs encrypted {result['accuracy_encrypted']:.4f}"
    )
    print(
        f"bytes: public keys once {b['public_context_once']:,}; per query up {b['ciphertext_up_median']:,} "
        f"({b['ciphertext_up_on_link']:,} framed), down {b['answer_down']:,} ({b['answer_down_on_link']:,} "
        f"framed); plaintext features {b['plaintext_features']} B; raw ECG {b['raw_ecg_upload']:,} B"
    )
    print(f"{'step':<10}{'device':<8}{'host ms':>10}{'equiv MACs':>14}{'device ms':>11}{'device mJ':>11}")
    for step, s in result["steps"].items():
        print(
            f"{step:<10}{s['device']:<8}{s['host_ms']:>10.3f}{s['equivalent_macs']:>14,}"
            f"{s['device_ms']:>11.3f}{s['device_energy_mj']:>11.3f}"
        )
    r = result["reference"]
    print(
        f"reference: {r['what']}: {r['macs']:,} MACs in {r['host_ms']:.3f} ms on this host "
        f"(measured alternately with the steps); plaintext scoring on the cloud {result['plain_cloud_ms']:.3f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
