"""The measured cost factor of a graph-walk distance (``index_costs.yaml``).

An HNSW query reads its vectors in graph order, not as one streamed scan, so each distance
costs more than ``dim`` multiply-adds of a matrix product. ``python bench/photo_search.py
--calibrate`` times both on the host side by side and writes their ratio here with its date;
the phone is charged ``distances × dim × factor`` MACs on its own engine (a ratio of two host
measurements: host time itself never becomes device time).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

COSTS_FILE = Path(__file__).resolve().parent / "index_costs.yaml"


@cache
def calibration() -> dict:
    """The calibration file's contents."""
    return yaml.safe_load(COSTS_FILE.read_text())


def hnsw_distance_cost_factor() -> float:
    return float(calibration()["hnsw_distance_cost_factor"])
