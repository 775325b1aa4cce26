"""The gymnasium environment over the smart-home app itself: a step places a real chain
stage's input (the Deferred hook), deterministically, and PPO trains on it."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("gymnasium")
pytest.importorskip("stable_baselines3")

from simulator.apps.smart_home import Placed  # noqa: E402
from simulator.placement import make_policy  # noqa: E402
from simulator.placement.env import ChainPlacementEnv  # noqa: E402
from simulator.placement.observe import N_ACTIONS  # noqa: E402
from simulator.placement.rl import RLPolicy, train  # noqa: E402

DURATION_S = 3000.0  # the watch's gestures and the indoor camera place inputs within minutes


def _episode(seed: int, actions: list[int], **kwargs):
    env = ChainPlacementEnv(duration_s=DURATION_S, **kwargs)
    obs, info = env.reset(seed=seed)
    observations, rewards, chosen = [obs], [], []
    for action in actions:
        request = env.decider.pending[0][0]
        chosen.append((request.id, env._placements[action]))
        obs, reward, terminated, _, _ = env.step(action)
        observations.append(obs)
        rewards.append(reward)
        if terminated:
            break
    return env, info, np.array(observations), np.array(rewards), chosen


def test_a_step_places_the_real_apps_input_as_the_action_says():
    actions = [int(a) for a in np.random.default_rng(1).integers(0, N_ACTIONS, 80)]
    env, info, _, rewards, chosen = _episode(5, actions, vary=0.0)
    assert info["home"] in ("smart_home", "smart_home_stressed") and len(chosen) == 80
    placed = {r.request: r for r in env.sim.trace.of(Placed)}
    # every decided input the app has finished was carried out where the action put it
    done = [(rid, p) for rid, p in chosen if rid in placed]
    assert len(done) > 60
    for rid, placement in done:
        record = placed[rid]
        assert record.policy == "deferred"
        local = record.split >= record.n_layers
        if placement.target == record.source or placement.split >= record.n_layers:
            assert local
        else:
            assert (record.target, record.split) == (placement.target, placement.split)
    # the app ran its chains on the engine: offloaded inputs crossed real links
    assert any(r.split < r.n_layers for r in placed.values()) and env.sim.now > 60.0
    assert rewards.max() <= 0.0 and rewards.sum() < 0.0


def test_the_chain_env_is_deterministic_under_a_seed():
    actions = [int(a) for a in np.random.default_rng(2).integers(0, N_ACTIONS, 150)]
    _, info_a, obs_a, rewards_a, _ = _episode(7, actions)
    _, info_b, obs_b, rewards_b, _ = _episode(7, actions)
    assert info_a == info_b
    np.testing.assert_array_equal(obs_a, obs_b)
    np.testing.assert_array_equal(rewards_a, rewards_b)
    _, info_c, _, _, _ = _episode(8, actions)
    assert info_c["seed"] != info_a["seed"] and info_c["seed"] >= 1000  # never a bench seed


def test_ppo_trains_on_the_chains_and_the_agent_places_them(tmp_path):
    path = tmp_path / "agent.zip"
    result = train(total_steps=256, minutes=None, out=path, duration_s=DURATION_S, log=lambda _line: None)
    assert result["steps"] >= 256 and path.exists()
    policy = make_policy({"policy": "rl", "agent": str(path)})
    assert isinstance(policy, RLPolicy)
    env = ChainPlacementEnv(duration_s=DURATION_S, vary=0.0)
    env.reset(seed=3)
    request, state, _ = env.decider.pending[0]
    assert policy.place(request, state) in env._placements


def test_the_chain_env_passes_the_gymnasium_checker():
    from gymnasium.utils.env_checker import check_env

    check_env(ChainPlacementEnv(duration_s=DURATION_S), skip_render_check=True)
