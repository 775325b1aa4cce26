"""A PPO agent (stable-baselines3) as a placement policy, and how it is trained.

``python -m simulator.placement.rl [--minutes 18] [--out PATH]`` trains PPO on
:class:`~simulator.placement.env.ChainPlacementEnv` — the smart-home app's own chains (the
shipped night, the stressed home and varied ones, a fresh training seed per episode) — or,
with ``--env homes``, on the synthetic homes of
:class:`~simulator.placement.env.PlacementEnv`, with one torch thread, and saves the agent
(a small ``.zip``) to ``models/artifacts/placement/ppo_placement.zip``. :class:`RLPolicy` loads it and places
requests with the same ``place(request, state)`` method as every heuristic, from the same
observation the environment gives (:mod:`~simulator.placement.observe`).

stable-baselines3 (and through it gymnasium) is imported only when an agent is loaded or
trained.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from simulator.placement.cost import Placement, Request, State
from simulator.placement.observe import decode, encode
from simulator.placement.policy import SHIPPED_AGENT, Policy

AGENT_PATH = SHIPPED_AGENT
# PPO settings (stable-baselines3 defaults unless noted): 4 environments × 512 steps per
# update, 64-64 MLPs, a little entropy bonus so the agent keeps trying splits early on.
PPO_SETTINGS = {
    "n_steps": 512,
    "batch_size": 256,
    "n_epochs": 5,
    "learning_rate": 3e-4,
    "gamma": 0.5,  # a placement's outcome arrives within a step or two
    "ent_coef": 0.01,
    "policy_kwargs": {"net_arch": [64, 64]},
}
N_ENVS = 4


class RLPolicy(Policy):
    """A trained agent: ``place`` picks the action the agent rates best (deterministic)."""

    NAME = "rl"

    def __init__(self, path: str | Path = AGENT_PATH):
        import torch
        from stable_baselines3 import PPO  # deferred: heavy, and only an agent needs it

        torch.set_num_threads(1)
        self.path = Path(path)
        self.model = PPO.load(str(self.path), device="cpu")

    def place(self, request: Request, state: State) -> Placement:
        obs, placements = encode(request, state)
        action, _ = self.model.predict(obs, deterministic=True)
        return decode(int(action), placements)


def train(
    total_steps: int | None = None,
    minutes: float | None = 18.0,
    seed: int = 0,
    out: Path | None = AGENT_PATH,
    duration_s: float | None = None,
    env: str = "chains",
    log=print,
) -> dict:
    """Train PPO for ``total_steps`` environment steps or ``minutes`` of wall time (whichever
    comes first); save to ``out`` (unless None). Returns the model and what was measured."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    from simulator.placement.env import ChainPlacementEnv, PlacementEnv

    torch.set_num_threads(1)
    if env == "chains":
        cls, kwargs = ChainPlacementEnv, {"duration_s": duration_s}
    else:
        cls, kwargs = PlacementEnv, {"duration_s": 60.0 if duration_s is None else duration_s}
    vec = make_vec_env(cls, n_envs=N_ENVS, seed=seed, env_kwargs=kwargs)
    model = PPO("MlpPolicy", vec, seed=seed, device="cpu", verbose=0, **PPO_SETTINGS)
    deadline = time.perf_counter() + 60.0 * minutes if minutes else None
    started = time.perf_counter()

    class Budget(BaseCallback):
        next_log_s = 30.0

        def _on_step(self) -> bool:
            return deadline is None or time.perf_counter() < deadline

        def _on_rollout_end(self) -> None:
            elapsed_s = time.perf_counter() - started
            rewards = [info["r"] / max(info["l"], 1) for info in self.model.ep_info_buffer]
            if rewards and elapsed_s >= self.next_log_s:
                self.next_log_s += 30.0
                log(
                    f"  {self.num_timesteps:>8} steps, {elapsed_s:4.0f} s: "
                    f"reward per request {sum(rewards) / len(rewards):+.3f} (last {len(rewards)} episodes)"
                )

    steps = total_steps if total_steps is not None else 10**9
    model.learn(total_timesteps=steps, callback=Budget())
    wall_s = time.perf_counter() - started
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        model.save(str(out), exclude=["env", "_last_obs", "_last_episode_starts", "ep_info_buffer"])
    return {"model": model, "steps": int(model.num_timesteps), "wall_s": wall_s, "path": out}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simulator.placement.rl", description="Train the PPO placement agent."
    )
    parser.add_argument("--minutes", type=float, default=18.0, help="wall-time budget (default 18)")
    parser.add_argument("--steps", type=int, default=None, help="stop after this many steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=AGENT_PATH)
    parser.add_argument("--env", choices=("chains", "homes"), default="chains", help="what to train on")
    args = parser.parse_args(argv)
    result = train(args.steps, args.minutes, args.seed, args.out, env=args.env)
    size = args.out.stat().st_size
    print(
        f"trained {result['steps']} steps in {result['wall_s']:.0f} s; saved {args.out} ({size / 1024:.0f} KiB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
