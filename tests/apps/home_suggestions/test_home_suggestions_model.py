"""The households generator and the recommender (pure numpy)."""

from __future__ import annotations

import numpy as np

from models import recommender
from models.data import households
from simulator.apps.home_suggestions.task import SuggestionTask

SPEC = households.HouseholdSpec(n_homes=8, weeks=3, n_items=60, seed=4)
PARAMS = {"factor_dim": 4, "local_epochs": 2, "batch_size": 32, "lr": 0.3, "blur_m": 500.0}


def test_generator_is_deterministic_and_skewed():
    a, b = households.generate(SPEC), households.generate(SPEC)
    assert all(np.array_equal(a.events[k], b.events[k]) for k in a.events)
    used = a.events["item"][a.events["feedback"] == 0]
    counts = np.sort(np.bincount(used, minlength=SPEC.n_items))[::-1]
    assert counts[:6].sum() > 0.25 * counts.sum()  # popularity skew: top 10 % of items, > 25 % of uses
    assert set(np.unique(a.events["feedback"])) == {0, 1}


def test_blurring_changes_some_contexts_exact_keeps_them():
    world = households.generate(SPEC)
    exact = households.blurred_contexts(world, 0.0)
    blurred = households.blurred_contexts(world, 500.0)
    assert (exact == world.events["context"]).mean() > 0.98
    assert (blurred != world.events["context"]).any()


def test_local_training_sends_only_global_weights_and_keeps_member_factors_home():
    task = SuggestionTask(households.generate(SPEC), PARAMS, 1)
    weights = task.initial_weights()
    before = task.users.copy()
    delta = task.local_train(weights, 2, 1, 0.0)
    assert delta.shape == (task.n_params,) and np.abs(delta).sum() > 0
    changed = np.flatnonzero(np.abs(task.users - before).sum(1) > 0)
    assert set(changed) <= set(task.homes[2].members)


def test_training_beats_the_untrained_model():
    task = SuggestionTask(households.generate(SPEC), PARAMS, 1)
    weights = task.initial_weights()
    first, _ = task.evaluate(weights)
    for round_number in range(1, 6):
        deltas = [task.local_train(weights, c, round_number, 0.0) for c in range(len(task.homes))]
        weights = weights + np.mean(deltas, axis=0)
    assert task.evaluate(weights)[0] > first + 0.1
    assert recommender.rank_metrics(np.array([0, 3, 12]))[0] == 2 / 3
