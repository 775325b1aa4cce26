"""The smart home's params: the schema checked when the scenario loads, and the checks
across fields (the start clock, the extra cameras, the chains against the devices and
links, each source stage on a device that has its sensor)."""

from __future__ import annotations

from typing import Any

import simulator.apps.smart_home.chains as chain_schema
import simulator.apps.smart_home.ground_truth as ground_truth
import simulator.apps.smart_home.voice_gate as voice_gate
from simulator.profiles import load_profile
from simulator.validate import Field, ListOf, SpecError

RATE_DEFAULTS = {
    "pets_per_hour": 1.5,
    "pets_at_door_per_hour": 0.15,
    "pir_false_per_hour": 0.3,
    "moves_per_hour": 3.0,
    "voice_per_hour": 1.5,
    "tv_per_hour": 6.0,
    "noise_per_hour": 2.0,
    "walks_per_hour": 4.0,
    "gestures_per_hour": 1.0,
    "other_gestures_per_hour": 2.0,
    "neighbour_visits": 1.0,
}
PARAMS_SCHEMA: dict[str, Any] = {
    "hub": Field(str, default="hub"),
    "phone": Field(str, default="phone"),
    "watch": Field(str, default="watch"),
    "speaker": Field(str, default="speaker"),
    "indoor_camera": Field(str, default="camera"),
    "doorbell": Field(str, default="doorbell"),
    "cloud": Field(str, default="cloud"),
    "start_clock": Field(str, default="18:00"),
    "chains": Field(Any, required=True),
    "motion_gating": Field(bool, default=True),
    "switching": Field(bool, default=True),
    "rtt_limit_s": Field("duration", default=0.1, minimum=0.0, exclusive_min=True),
    "probe_period_s": Field("duration", default=30.0, minimum=1.0),
    "reserved_share": Field(float, default=0.25, minimum=0.0, maximum=0.9),
    "best_effort_slice_s": Field("duration", default=0.02, minimum=0.001),
    "indoor_frame_period_s": Field("duration", default=1.0, minimum=0.05),
    "door_frame_period_s": Field("duration", default=0.5, minimum=0.05),
    "pir_wake_s": Field("duration", default=0.3, minimum=0.0),
    "clip_idle_s": Field("duration", default=3.0, minimum=0.0),
    "clip_max_s": Field("duration", default=30.0, minimum=1.0),
    "motion_pixel_threshold": Field(float, default=0.06, minimum=0.0, maximum=1.0),
    "motion_min_pixels": Field(int, default=3, minimum=1),
    "vad_ratio": Field(float, default=2.0, minimum=1.0),
    # The speaker's gate in front of the keyword model: the loudness rule, none, or a
    # voice-activity model from the model store by name (MODEL[:VARIANT]; see .voice_gate).
    "voice_gate": Field(str, default="loudness"),
    "vad_threshold": Field(float, default=0.5, minimum=0.0, maximum=1.0),
    "imu_wake_rad_s": Field(float, default=0.5, minimum=0.0),
    "match_grace_s": Field("duration", default=30.0, minimum=0.0),
    "retries": Field(int, default=2, minimum=0),
    # More cameras: each sees what the doorbell ("door": a PIR camera woken in clips) or the
    # indoor camera ("indoor": always on) sees, from its own angle (frames of its own).
    "extra_cameras": ListOf(
        {"device": Field(str, required=True), "sees": Field(str, required=True, choices=("door", "indoor"))},
        default=[],
    ),
    **{name: Field(float, default=value, minimum=0.0) for name, value in RATE_DEFAULTS.items()},
}
HOOKS = (
    "device_joined",
    "deploy_started",
    "model_deployed",
    "chain_fired",
    "alert_announced",
    "phone_notified",
    "switched_local",
    "switched_hub",
    "emergency_recheck",
    "voice_command",
    "gesture",
    "chain_broken",
)


def check_home_params(
    params: dict[str, Any], scenario: dict[str, Any], file: str, where: str
) -> dict[str, Any]:
    """Check ``params`` (already checked against :data:`PARAMS_SCHEMA`) across fields and
    against the scenario's devices and links; returns them with the chains normalised."""
    try:
        start = ground_truth.clock_s(params["start_clock"], 0.0)
    except ValueError:
        raise SpecError(
            f"{file}, {where}.start_clock: expected a clock time like '18:00', got {params['start_clock']!r}"
        ) from None
    # The night's script runs from the arrivals (18:10 at the earliest) to the morning alarm
    # (07:00 ± 10 min): a start outside that daytime window would put its steps out of order.
    if not ground_truth.clock_s("07:10", 0.0) <= start <= ground_truth.clock_s("18:10", 0.0):
        raise SpecError(
            f"{file}, {where}.start_clock: must be between 07:10 and 18:10 (the night starts with "
            f"the arrivals after 18:10 and ends at the 07:00 alarm), got {params['start_clock']!r}"
        )
    kinds = {d["name"]: _kind(d) for d in scenario["devices"]}
    links = [(link["a"], link["b"]) for link in scenario["links"]]
    cameras = [params["doorbell"], params["indoor_camera"]]
    for i, extra in enumerate(params["extra_cameras"]):
        at = f"{file}, {where}.extra_cameras[{i}].device"
        if extra["device"] not in kinds:
            raise SpecError(f"{at}: unknown device {extra['device']!r} (devices: {', '.join(kinds)})")
        if kinds[extra["device"]] != "camera":
            raise SpecError(f"{at}: {extra['device']!r} is a {kinds[extra['device']]}, not a camera")
        if extra["device"] in cameras:
            raise SpecError(f"{at}: {extra['device']!r} is already one of the home's cameras")
        cameras.append(extra["device"])
    voice_gate.check(params, file, where)
    params["chains"] = chain_schema.check_chains(params["chains"], kinds, links, file, f"{where}.chains")
    sensors = {"motion": tuple(cameras), "sound": (params["speaker"],)}
    sensors["imu"] = (params["watch"],)
    for i, chain in enumerate(params["chains"]):
        for j, stage in enumerate(chain["stages"]):
            allowed = sensors.get(stage["trigger"])
            if allowed and stage["device"] not in allowed:
                raise SpecError(
                    f"{file}, {where}.chains[{i}].stages[{j}].device: the home's {stage['trigger']} "
                    f"sensors are on {', '.join(allowed)}, not {stage['device']!r}"
                )
            if stage["trigger"] == "timer" and stage["input_from"] is None:
                raise SpecError(
                    f"{file}, {where}.chains[{i}].stages[{j}].input_from: a timer stage needs a "
                    "camera whose recent frames it analyses"
                )
    return params


def _kind(device_spec: dict) -> str:
    return load_profile(device_spec["profile_path"]).kind
