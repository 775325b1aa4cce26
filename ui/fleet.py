"""Fleet aggregates for the core plots (pure numpy, no Qt).

Above :data:`FLEET_DEVICES` devices one line per device is a tangle (150 battery lines
read as a coloured smear), so the plots draw, per device kind, the median over its devices
and the 10–90 % band, binned over the run, as fleet dashboards do. A bin's value per
device is its state of charge at the bin's middle, its mean power over the bin (from the
exact energy of its power steps, so a 2-s burst still counts), or, for latency, every
inference of the kind that ended in the bin.
"""

from __future__ import annotations

import numpy as np

FLEET_DEVICES = 12  # smart home (7-9 devices), photo search (4), health (3): one line per device
BINS = 240  # over the whole run: about 2 px a bin in the window's 480-px-wide plots
BAND_PERCENT = (10.0, 90.0)


def bin_edges(duration_s: float, t: float, bins: int = BINS) -> np.ndarray:
    """The run's fixed bin edges up to ``t`` (the last bin ends at ``t``, partly filled)."""
    edges = np.linspace(0.0, max(1.0, duration_s), bins + 1)
    edges = edges[edges < t]
    return np.append(edges, t) if len(edges) else np.zeros(0)


def centres(edges: np.ndarray) -> np.ndarray:
    return (edges[:-1] + edges[1:]) / 2


def sample_at(x: np.ndarray, times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` (sampled at ``times``, linear between) at ``x``; NaN outside the samples
    (a device not in the home yet, or gone)."""
    if len(times) == 0:
        return np.full(len(x), np.nan)
    return np.interp(x, times, values, left=np.nan, right=np.nan)


def mean_power_w(edges: np.ndarray, change_t: np.ndarray, power_w: np.ndarray) -> np.ndarray:
    """Mean power in each bin of a step function (``power_w[i]`` from ``change_t[i]`` on):
    energy at the edges over the bin width; NaN for bins that start before the first step."""
    n = len(edges) - 1
    if len(change_t) == 0 or n <= 0:
        return np.full(max(n, 0), np.nan)
    energy_at_change = np.concatenate(([0.0], np.cumsum(power_w[:-1] * np.diff(change_t))))
    i = np.searchsorted(change_t, edges, side="right") - 1
    before = i < 0
    i = np.maximum(i, 0)
    energy = energy_at_change[i] + power_w[i] * (edges - change_t[i])
    width = np.diff(edges)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.diff(energy) / width
    mean[before[:-1] | (width <= 0)] = np.nan
    return mean


def band(bin_of: np.ndarray, values: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bin, the low percentile, the median and the high percentile of the finite
    ``values`` that fall in it (``bin_of`` their bin numbers); NaN for an empty bin."""
    keep = np.isfinite(values) & (bin_of >= 0) & (bin_of < bins)
    bin_of, values = bin_of[keep], values[keep]
    out = np.full((3, bins), np.nan)
    if len(values) == 0:
        return out[0], out[1], out[2]
    order = np.lexsort((values, bin_of))
    bin_of, values = bin_of[order], values[order]
    counts = np.bincount(bin_of, minlength=bins)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    filled = counts > 0
    for row, percent in enumerate((BAND_PERCENT[0], 50.0, BAND_PERCENT[1])):
        # linear interpolation between the two nearest ranks, as numpy's percentile
        rank = percent / 100.0 * (counts[filled] - 1)
        low = np.floor(rank).astype(int)
        high = np.minimum(low + 1, counts[filled] - 1)
        frac = rank - low
        base = starts[filled]
        out[row, filled] = values[base + low] * (1 - frac) + values[base + high] * frac
    return out[0], out[1], out[2]


def band_over_devices(per_device: list[np.ndarray], bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`band` across devices, each given as one value per bin (NaN: absent)."""
    if not per_device:
        return band(np.zeros(0, dtype=int), np.zeros(0), bins)
    stacked = np.vstack(per_device)
    bin_of = np.broadcast_to(np.arange(bins), stacked.shape)
    return band(bin_of.ravel(), stacked.ravel(), bins)
