"""The gymnasium environment over placement, PPO on it, and a trained agent as a policy."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("gymnasium")
pytest.importorskip("stable_baselines3")

from gymnasium.utils.env_checker import check_env  # noqa: E402

from simulator.placement import Placement, make_policy  # noqa: E402
from simulator.placement.cost import estimate, options  # noqa: E402
from simulator.placement.env import PlacementEnv  # noqa: E402
from simulator.placement.home import STRESSED, build  # noqa: E402
from simulator.placement.layers import layer_table, models_with_tables  # noqa: E402
from simulator.placement.observe import MAX_LAYERS, MODELS, N_ACTIONS, Reward, candidates, decode, encode  # noqa: E402
from simulator.placement.rl import AGENT_PATH, RLPolicy, train  # noqa: E402


def test_env_passes_the_gymnasium_checker():
    check_env(PlacementEnv(duration_s=8.0), skip_render_check=True)


def _episode(seed: int, actions: list[int]):
    env = PlacementEnv(duration_s=6.0)
    obs, info = env.reset(seed=seed)
    observations, rewards = [obs], []
    for action in actions:
        obs, reward, terminated, truncated, _ = env.step(action)
        observations.append(obs)
        rewards.append(reward)
        if terminated:
            break
    return info, np.array(observations), np.array(rewards), env


def test_env_is_deterministic_under_a_seed_and_steps_the_engine():
    actions = [int(a) for a in np.random.default_rng(0).integers(0, N_ACTIONS, 400)]
    info_a, obs_a, rewards_a, env = _episode(11, actions)
    info_b, obs_b, rewards_b, _ = _episode(11, actions)
    assert info_a == info_b
    np.testing.assert_array_equal(obs_a, obs_b)
    np.testing.assert_array_equal(rewards_a, rewards_b)
    info_c, obs_c, _, _ = _episode(12, actions)
    assert info_c != info_a or not np.array_equal(obs_c[: len(obs_a)], obs_a[: len(obs_c)])
    # the engine really ran: simulated time passed, devices computed and links carried tensors
    assert env.sim.now > 6.0 and sum(d.inferences for d in env.sim.devices.values()) > 0
    assert any(link.messages_sent for link in env.sim.links.values())
    assert rewards_a.max() <= 0.0 and len(rewards_a) > 10


def test_actions_are_the_options_ranked_by_estimated_reward():
    assert set(models_with_tables()) == set(MODELS)
    assert max(layer_table(m).n_layers for m in MODELS) == MAX_LAYERS
    _, workload = build(STRESSED.with_seconds(2.0), seed=1)
    workload.sim.run(until=1.5)
    request, _ = workload.pending[0]
    state = workload.runner.state()
    obs, placements = encode(request, state)
    assert len(placements) == N_ACTIONS and obs.shape == (PlacementEnv().observation_space.shape[0],)
    soc = state.devices[request.source].state_of_charge
    scores = sorted(
        (Reward().estimate(estimate(request, p, state), request.deadline_s, soc) for p in options(request)),
        reverse=True,
    )
    ranked = candidates(request, state)
    assert [r for _, _, r in ranked] == pytest.approx(scores[:N_ACTIONS])
    assert len(set(placements)) == N_ACTIONS  # distinct options (a camera model has 19)
    for action, placement in enumerate(placements):
        assert decode(action, placements) == placement
    assert decode(N_ACTIONS + 3, placements) == placements[0]
    assert Placement(request.source, request.table.n_layers) in options(request)


def test_ppo_trains_and_the_agent_places_as_a_policy(tmp_path):
    path = tmp_path / "agent.zip"
    result = train(
        total_steps=128, minutes=None, out=path, duration_s=4.0, env="homes", log=lambda _line: None
    )
    assert result["steps"] >= 128 and path.exists()
    policy = make_policy({"policy": "rl", "agent": str(path)})
    assert isinstance(policy, RLPolicy)
    sim, workload = build(STRESSED.with_seconds(3.0), seed=5, policy=policy)
    sim.run()
    assert workload.done and len(workload.outcomes) > 5
    assert all(o.record.policy == "rl" for o in workload.outcomes)


@pytest.mark.skipif(not AGENT_PATH.exists(), reason="no trained agent shipped")
def test_the_shipped_agent_is_small_and_loads():
    assert AGENT_PATH.stat().st_size < 400_000
    policy = RLPolicy(AGENT_PATH)
    sim, workload = build(STRESSED.with_seconds(5.0), seed=3, policy=policy)
    sim.run()
    assert workload.done and workload.metrics()["requests"] > 20
