"""Self-healing without the guard and without the hub's copy: the targeted attack (which
rewrites the on-device checksums) goes unseen by the nightly scrub while the random flips
are caught there, and with no copy to restore the watch repairs itself by fine-tuning."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import short_sim

from models.lifecycle import faults as fault_kinds
from models.lifecycle.artifact import StoredModel
from models.lifecycle.twin import Twin
from simulator.apps.device_lifecycle.records import LifeFaultHealed

FAULTS = [
    {"device": "watch", "kind": "targeted_flips", "day": 2.4, "bits": 20},
    {"device": "watch", "kind": "random_flips", "day": 2.6, "rate": 0.001},
]


@pytest.fixture(scope="module")
def unguarded():
    return short_sim(guard=False, hub_backup=False, faults=FAULTS, migration=None).run()


def test_without_the_guard_the_attack_hides_and_the_checksum_finds_the_random_flips(unguarded, lifecycle_run):
    m = unguarded.summary()["device_lifecycle"]
    targeted, random = m["faults"]
    assert random["detected_by"] == "checksum-at-rest"
    assert targeted["detected_by"] != "guard"
    guarded = next(
        f for f in lifecycle_run.summary()["device_lifecycle"]["faults"] if f["kind"] == "targeted_flips"
    )
    assert guarded["detected_by"] == "guard"
    assert targeted["served_damaged"] > guarded["served_damaged"]  # the guard's contrast


def test_without_a_copy_the_watch_repairs_by_fine_tuning(unguarded):
    healed = unguarded.trace.of(LifeFaultHealed)
    assert healed and {h.how for h in healed} == {"fine-tune"}
    assert all(h.restore_bytes == 0 for h in healed)  # nothing came over the links
    random = unguarded.summary()["device_lifecycle"]["faults"][1]
    assert random["healed"] and random["accuracy_after_repair"] is not None


def test_checksums_see_every_kind_of_stored_fault():
    from models.cards import ARTIFACTS_DIR, find_card

    card = find_card("gesture_imu", "ptq-minmax")
    stored = StoredModel(
        (ARTIFACTS_DIR / "gesture_imu" / card.artifact).read_bytes(), card.variant, card.precision
    )
    clean = stored.tensor_checksums()
    rng = np.random.default_rng(0)
    flipped, flips = fault_kinds.flip_random(stored, 1e-3, rng)
    assert flips > 0 and flipped.damaged_tensors(clean)
    assert fault_kinds.corrupt_download(stored, rng).damaged_tensors(clean)
    assert stored.damaged_tensors(clean) == []


def test_twin_bytes_round_trip_to_the_same_digest():
    twin = Twin(
        {"w": np.arange(6, dtype=np.float32).reshape(2, 3)}, b"detector", {"a": 1}, {"t": 0.05}, [{"e": 1}]
    )
    again = Twin.from_bytes(twin.to_bytes())
    assert again.digest() == twin.digest()
    again.weights["w"][0, 0] = 9.0
    assert again.digest() != twin.digest()
