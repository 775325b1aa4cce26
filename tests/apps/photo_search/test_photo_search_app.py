"""The photo-search app: the gallery grows, the phone indexes while charging, queries are
answered on its clock, nothing leaves the phone; determinism; bad input."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from simulator.apps.photo_search import IndexBatch, PhotoQuery, PhotoTaken
from simulator.engine import Simulation
from simulator.scenario import load_scenario
from simulator.trace import Inference, Message, Trace
from simulator.validate import SpecError

ROOT = Path(__file__).resolve().parents[3]


def test_gallery_grows_and_is_indexed_only_while_charging(small):
    trace = small.trace
    taken = [r for r in trace.of(PhotoTaken) if r.app == "photos"]
    batches = trace.of(IndexBatch)
    assert len(taken) > 300 and [r.photo_id for r in taken] == list(range(len(taken)))
    charging = [(3600.0, 6 * 3600.0), (23 * 3600.0, 30 * 3600.0)]
    assert batches and all(any(a <= b.start_t < z for a, z in charging) for b in batches)
    sizes = [b.index_size for b in batches]
    assert sizes == sorted(sizes) and sizes[0] == batches[0].n_photos
    summary = small.summary()["photos"]
    assert summary["photos_indexed"] == sizes[-1] <= summary["photos_taken"] == len(taken)
    assert summary["memory_ok"] and summary["peak_memory_mb"] > summary["index_memory_mb"] > 0


def test_phone_pays_for_embedding_and_search_on_its_own_records(small):
    summary = small.summary()["photos"]
    runs = [r for r in small.trace.of(Inference) if r.device == "phone"]
    embedded = sum(r.n_windows for r in runs if r.model == "photo_image_encoder")
    assert embedded == summary["photos_indexed"]
    assert all(r.energy_j > 0 and r.end_t > r.t for r in runs)
    assert {r.label for r in runs if r.model == "photo_index"} == {"index", "search"}
    assert summary["embed_mj_per_photo"] > 0 and summary["index_build_j_per_night"] > 0


def test_queries_beat_tag_search_and_the_index_agrees_with_exact_search(small):
    summary = small.summary()["photos"]
    assert summary["queries"] >= 8
    assert summary["recall_at_10"] > summary["tag_recall_at_10"] + 0.3
    assert summary["index_recall_at_10"] > 0.8
    assert 0 < summary["query_p50_ms"] <= summary["query_p95_ms"] < 50


def test_nothing_leaves_the_phone(small):
    summary = small.summary()["photos"]
    messages = small.trace.of(Message)
    assert messages and all(m.dst == "phone" and m.msg_kind == "photo" for m in messages)
    assert summary["bytes_off_device"] == 0 and summary["phone_bytes_sent"] == 0
    assert summary["photo_bytes_received"] == sum(m.size_bytes for m in messages if m.status == "delivered")


def test_a_leaked_message_would_be_counted(small):
    trace = Trace(small.trace.meta)
    for record in small.trace:
        trace.append(record)
    trace.append(
        Message(small.now, "phone", "cloud", "phone-cloud", "photo", 12288, small.now + 1, "delivered", 1, 0)
    )
    app = small.trace.meta["apps"][0]
    from simulator.apps.photo_search.metrics import summarize

    assert (
        summarize(trace, {**app, "params": small.apps[0].params}, small.now + 2)["bytes_off_device"] == 12288
    )


def test_a_query_before_any_photo_is_an_empty_result(small):
    first = small.trace.of(PhotoQuery)[0]
    assert first.start_t == 1800.0 and first.index_size == 0 and first.results == "" and first.hits == 0
    assert small.summary()["photos"]["queries_empty"] == 1


def test_same_seed_same_trace_and_a_saved_trace_loads_back(small, photo_run, tmp_path):
    run = photo_run
    again = run()
    assert list(again.trace) == list(small.trace)
    path = small.trace.save(tmp_path / "trace.jsonl.gz")
    loaded = Trace.load(path)
    assert [r for r in loaded if isinstance(r, PhotoQuery)] == small.trace.of(PhotoQuery)
    other = run(seed=6)
    assert other.trace.of(PhotoQuery) != small.trace.of(PhotoQuery)


def test_main_py_summary_of_the_saved_trace_equals_the_runs_summary(photo_small_raw, tmp_path, capsys):
    import json

    from bench.trace_identity import _flatten, _is_wall
    from cli import main as cli_main

    scenario = tmp_path / "small.yaml"
    scenario.write_text(yaml.safe_dump(photo_small_raw))
    out = tmp_path / "run"
    assert cli_main(["run", str(scenario), "--out", str(out), "--quiet"]) == 0
    assert cli_main(["summary", str(out / "trace.jsonl.gz")]) == 0
    capsys.readouterr()

    def without_wall(summary: dict) -> dict:
        return {k: v for k, v in _flatten(summary).items() if not _is_wall(k)}

    live = json.loads((out / "summary.json").read_text())
    rebuilt = json.loads((out / "summary.rebuilt.json").read_text())
    assert without_wall(rebuilt) == without_wall(live)
    keys = ("recall_at_10", "index_recall_at_10", "query_p95_ms", "photos_indexed", "bytes_off_device")
    assert all(key in live["photos"] for key in keys) and live["photos"]["photos_indexed"] > 0


def test_exact_index_kind_answers_exactly(photo_run):
    sim = photo_run(**{"apps.photos.params.index.kind": "exact", "duration": "14h"})
    summary = sim.summary()["photos"]
    assert summary["index_kind"] == "exact" and summary["index_recall_at_10"] == 1.0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("index.kind", "annoy", "apps[0].params.index.kind: must be one of hnsw, exact, got 'annoy'"),
        ("k", 0, "apps[0].params.k: must be ≥ 1, got 0"),
        ("embed_batch", -3, "apps[0].params.embed_batch: must be ≥ 1, got -3"),
        (
            "sources",
            [{"device": "toaster", "rooms": ["porch"]}],
            "apps[0].params.sources[0].device: unknown device",
        ),
        ("query_hours", ["22:00", "08:00"], "apps[0].params.query_hours: expected [start, end]"),
        ("library", {"photos": 10, "rooms": ["attic"]}, "apps[0].params.library.rooms[0]: must be one of"),
        # one bad value for every other field of the schema
        ("phone", "toaster", "apps[0].params.phone: unknown device 'toaster'"),
        ("library.photos", -1, "apps[0].params.library.photos: must be ≥ 0, got -1"),
        ("library.taken_over_days", 0, "apps[0].params.library.taken_over_days: must be > 0, got 0"),
        (
            "sources",
            [{"device": "phone", "rooms": ["porch"], "photos_per_day": -1}],
            "apps[0].params.sources[0].photos_per_day: must be ≥ 0, got -1",
        ),
        (
            "sources",
            [{"device": "phone", "rooms": ["porch"], "hours": ["23:00", "08:00"]}],
            "apps[0].params.sources[0].hours: expected [start, end]",
        ),
        ("index.connectivity", 1, "apps[0].params.index.connectivity: must be ≥ 2, got 1"),
        ("index.expansion_add", 0, "apps[0].params.index.expansion_add: must be ≥ 1, got 0"),
        ("index.expansion_search", 0, "apps[0].params.index.expansion_search: must be ≥ 1, got 0"),
        ("index.dtype", "f64", "apps[0].params.index.dtype: must be one of f32, i8, got 'f64'"),
        ("poll_s", "0s", "apps[0].params.poll_s: must be ≥ 1, got 0"),
        ("queries_per_day", -2, "apps[0].params.queries_per_day: must be ≥ 0, got -2"),
        ("query_times", ["later"], "apps[0].params.query_times[0]: expected a duration"),
    ],
)
def test_bad_params_are_refused_at_load_naming_the_field(photo_small_raw, field, value, message):
    raw = copy.deepcopy(photo_small_raw)
    params = raw["apps"][0]["params"]
    head, _, tail = field.partition(".")
    if tail:
        params.setdefault(head, {})[tail] = value
    else:
        params[head] = value
    with pytest.raises(SpecError) as error:
        Simulation.from_dict(raw, source="small.yaml")
    assert message in str(error.value) and "small.yaml" in str(error.value)


@pytest.mark.parametrize(("field", "value"), [("index:\n        kind", "annoy"), ("k", "0")])
def test_cli_exits_2_naming_the_field(tmp_path, field, value):
    text = (ROOT / "scenarios" / "photo_search.yaml").read_text()
    if field == "k":
        text = text.replace("      k: 10", f"      k: {value}")
        expected = "apps[0].params.k"
    else:
        text = text.replace("kind: hnsw", f"kind: {value}")
        expected = "apps[0].params.index.kind"
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    done = subprocess.run(
        [sys.executable, "main.py", "run", str(path), "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out" / "summary.json").exists()


def test_shipped_scenario_is_valid_and_has_10k_photos():
    raw = yaml.safe_load((ROOT / "scenarios" / "photo_search.yaml").read_text())
    params = raw["apps"][0]["params"]
    per_day = sum(s["photos_per_day"] for s in params["sources"])
    days = 3
    assert params["library"]["photos"] + per_day * days >= 10_000
    # validated as the loader does, params included; building the Simulation would render and
    # embed all 10 k photos before the run (45 s from no cache: the full run is checked by hand)
    spec = load_scenario(ROOT / "scenarios" / "photo_search.yaml")
    assert spec["apps"][0]["params"]["index"]["kind"] == "hnsw"
