"""Households' behaviour over weeks, for personalized suggestions (pure numpy, our own).

A city of homes; each home has 1–4 members with latent tastes and devices (a phone, a
speaker, maybe a watch and a car). Each member lives a routine by weekday: up at home in
the morning, a commute out and back on work days, the gym on some evenings, evenings at
home. At *moments of context* (a moment at home, on the commute, at the gym, in the
evening) the member may use an item of the catalogue (services, scenes, playlists,
reminders): the choice is a softmax over taste (member · item factors), the context's
and hour's affinity for the item's kind, and a Zipf popularity skew. Feedback is
implicit: ``used`` (the item chosen) or ``dismissed`` (a shown popular item the member
waved away); moments without a choice are ``ignored`` and not logged as events.

Tastes correlate with the members' device attributes (a watch wearer likes workout
items, a driver navigation and podcasts…), which is what cold start from device
attributes can learn. Every moment carries the member's location (metres in the city)
so blurring it (:func:`infer_context`) can be measured: the context a device infers from
a blurred location may be wrong (the gym in the home's 500 m cell, the commute's start).

``generate(spec)`` gives the same :class:`Households` for the same spec.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("service", "scene", "playlist", "reminder")
CONTEXTS = ("home", "commute", "gym", "evening")
#: the device attributes a new member brings (cold start): one-hot or flags
ATTRIBUTES = ("bias", "has_watch", "drives", "young", "adult", "senior", "android")
HOUR_BUCKETS = 4  # night/morning, day, evening, late; × weekend → 8 time slots
TIME_SLOTS = 2 * HOUR_BUCKETS
DAY_S = 86400.0
PLACE_RADIUS_M = 150.0  # a device's geofence around a known place (exact location)
FEEDBACK = ("used", "dismissed")

# Context × kind affinity (logits): playlists on the move and at the gym, scenes at home
# and in the evening, reminders in the morning at home, services (navigation, tickets) on
# the commute. Chosen by us to make contexts matter, as the source's routines do.
KIND_AFFINITY = np.array(
    [
        # service scene playlist reminder
        [0.0, 0.8, 0.2, 1.0],  # home
        [1.2, -1.5, 1.0, 0.3],  # commute
        [0.2, -2.0, 1.5, -0.5],  # gym
        [-0.3, 1.2, 0.8, -0.2],  # evening
    ]
)


@dataclass(frozen=True)
class HouseholdSpec:
    """What to generate: homes, weeks (the last ``heldout_weeks`` held out), catalogue."""

    n_homes: int = 50
    weeks: int = 4
    heldout_weeks: int = 1
    n_items: int = 240
    taste_dim: int = 6
    seed: int = 0
    engage_p: float = 0.65  # a moment of context leads to a used item
    dismiss_p: float = 0.25  # a moment also shows a popular item that is dismissed
    popularity_exponent: float = 1.0  # Zipf: item of rank r has log-pop −exponent·log r
    taste_scale: float = 1.6


@dataclass
class Households:
    """The generated world. Events are columns (one row per logged event, time order per
    member); ``t_s`` counts from the first day's midnight (a Monday)."""

    spec: HouseholdSpec
    item_kind: np.ndarray  # (n_items,) index into KINDS
    item_names: list
    member_home: np.ndarray  # (n_members,)
    member_attributes: np.ndarray  # (n_members, len(ATTRIBUTES))
    home_xy: np.ndarray  # (n_homes, 2) metres
    gym_xy: np.ndarray  # (n_members, 2)
    work_xy: np.ndarray  # (n_members, 2)
    home_devices: list  # per home: the kinds it has ("phone", "speaker", "watch", "car")
    events: dict  # member, home, t_s, day, context (true), slot, x, y, item, feedback

    @property
    def n_members(self) -> int:
        return len(self.member_home)

    @property
    def n_items(self) -> int:
        return len(self.item_kind)

    def train_mask(self) -> np.ndarray:
        return self.events["day"] < 7 * (self.spec.weeks - self.spec.heldout_weeks)

    def heldout_mask(self) -> np.ndarray:
        return ~self.train_mask()


def time_slot(hour: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    """Hour bucket (0: before 10, 1: 10–16, 2: 16–21, 3: after 21) + 4 on weekends."""
    bucket = np.digitize(hour, [10.0, 16.0, 21.0])
    return bucket + HOUR_BUCKETS * (weekday >= 5)


def infer_context(
    x: np.ndarray,
    y: np.ndarray,
    hour: np.ndarray,
    home_xy: np.ndarray,
    gym_xy: np.ndarray,
    work_xy: np.ndarray,
    blur_m: float,
) -> np.ndarray:
    """The context a device infers from a location (per event; places per event too).

    Exact (``blur_m`` 0): within :data:`PLACE_RADIUS_M` of home → home (evening after
    18:00), of the gym → gym, else commute. Blurred: every location is snapped to its
    ``blur_m`` grid cell and matched by cell, home first (the cell is all the device keeps)."""

    def same_place(px: np.ndarray, py: np.ndarray) -> np.ndarray:
        if blur_m <= 0:
            return np.hypot(x - px, y - py) <= PLACE_RADIUS_M
        return (np.floor(x / blur_m) == np.floor(px / blur_m)) & (
            np.floor(y / blur_m) == np.floor(py / blur_m)
        )

    at_home = same_place(home_xy[:, 0], home_xy[:, 1])
    at_gym = same_place(gym_xy[:, 0], gym_xy[:, 1]) & ~at_home
    at_work = same_place(work_xy[:, 0], work_xy[:, 1]) & ~at_home & ~at_gym
    context = np.full(len(x), CONTEXTS.index("commute"))
    context[at_gym] = CONTEXTS.index("gym")
    context[at_home] = np.where(hour[at_home] >= 18.0, CONTEXTS.index("evening"), CONTEXTS.index("home"))
    del at_work  # no moments at work: a commute point in the work cell stays "commute"
    return context


def generate(spec: HouseholdSpec) -> Households:
    """The households of ``spec`` (deterministic)."""
    rng = np.random.default_rng([spec.seed, 18])
    n_items, dim = spec.n_items, spec.taste_dim
    item_kind = rng.integers(0, len(KINDS), n_items)
    item_names = [f"{KINDS[k]}-{i:03d}" for i, k in enumerate(item_kind)]
    item_taste = rng.normal(0.0, 1.0, (n_items, dim)) / np.sqrt(dim)
    log_pop = -spec.popularity_exponent * np.log1p(rng.permutation(n_items))
    slot_affinity = rng.normal(0.0, 0.5, (TIME_SLOTS, len(KINDS)))

    members_per_home = rng.choice([1, 2, 3, 4], spec.n_homes, p=[0.25, 0.35, 0.25, 0.15])
    member_home = np.repeat(np.arange(spec.n_homes), members_per_home)
    n_members = len(member_home)
    home_xy = rng.uniform(0.0, 20000.0, (spec.n_homes, 2))
    age = rng.choice(3, n_members, p=[0.3, 0.5, 0.2])
    has_watch = rng.random(n_members) < np.array([0.45, 0.35, 0.15])[age]
    drives = rng.random(n_members) < np.array([0.3, 0.7, 0.5])[age]
    android = rng.random(n_members) < 0.5
    attributes = np.zeros((n_members, len(ATTRIBUTES)))
    attributes[:, 0] = 1.0
    attributes[:, 1] = has_watch
    attributes[:, 2] = drives
    attributes[np.arange(n_members), 3 + age] = 1.0
    attributes[:, 6] = android
    # Tastes: a part explained by the attributes (what cold start can learn), the rest own.
    attribute_taste = rng.normal(0.0, 0.8, (len(ATTRIBUTES), dim))
    own = rng.normal(0.0, 1.0, (n_members, dim))
    member_taste = (
        spec.taste_scale * (0.6 * attributes @ attribute_taste / 2.0 + 0.8 * own) / np.sqrt(dim) * 2.0
    )
    gym_goer = rng.random(n_members) < np.where(has_watch, 0.7, 0.3)
    gym_days = [np.flatnonzero(rng.random(7) < (0.45 if g else 0.0)) for g in gym_goer]
    works = rng.random(n_members) < np.array([0.6, 0.9, 0.2])[age]

    def away(median_m: float, n: int) -> np.ndarray:
        angle = rng.uniform(0, 2 * np.pi, n)
        distance = rng.lognormal(np.log(median_m), 0.6, n)
        return np.stack([np.cos(angle), np.sin(angle)], 1) * distance[:, None]

    gym_xy = home_xy[member_home] + away(1500.0, n_members)
    work_xy = home_xy[member_home] + away(6000.0, n_members)
    home_devices = []
    for home in range(spec.n_homes):
        mine = member_home == home
        kinds = ["phone", "speaker"]
        if has_watch[mine].any():
            kinds.append("watch")
        if drives[mine].any():
            kinds.append("car")
        home_devices.append(kinds)

    # Moments: (member, day, hour, context, location)
    rows = []
    wake = rng.normal(7.0, 0.6, n_members)
    for member in range(n_members):
        hx, hy = home_xy[member_home[member]]
        for day in range(7 * spec.weeks):
            weekday = day % 7
            moments = [(wake[member] + rng.uniform(0.2, 1.0), "home")]
            if works[member] and weekday < 5:
                moments += [
                    (8.0 + rng.uniform(0.0, 1.0), "commute"),
                    (17.2 + rng.uniform(0.0, 1.0), "commute"),
                ]
            elif rng.random() < 0.5:
                moments.append((rng.uniform(10.0, 16.0), "home"))
            if weekday in gym_days[member]:
                moments.append((18.5 + rng.uniform(0.0, 1.0), "gym"))
            moments += [(rng.uniform(19.0, 23.0), "evening") for _ in range(rng.integers(1, 3))]
            for hour, context in moments:
                if context in ("home", "evening"):
                    x, y = hx + rng.normal(0, 15), hy + rng.normal(0, 15)
                elif context == "gym":
                    x, y = gym_xy[member] + rng.normal(0, 15, 2)
                else:
                    along = rng.uniform(0.05, 0.95)
                    x, y = (1 - along) * np.array([hx, hy]) + along * work_xy[member]
                rows.append((member, day, hour, CONTEXTS.index(context), x, y))
    moments = np.array(rows)
    member = moments[:, 0].astype(int)
    day = moments[:, 1].astype(int)
    hour = moments[:, 2]
    context = moments[:, 3].astype(int)
    slot = time_slot(hour, day % 7)
    logits = (
        member_taste[member] @ item_taste.T
        + log_pop[None, :]
        + KIND_AFFINITY[context][:, item_kind]
        + slot_affinity[slot][:, item_kind]
    )
    logits -= logits.max(1, keepdims=True)
    prob = np.exp(logits)
    prob /= prob.sum(1, keepdims=True)
    cumulative = prob.cumsum(1)
    chosen = (cumulative < rng.random(len(member))[:, None]).sum(1).clip(0, n_items - 1)
    engaged = rng.random(len(member)) < spec.engage_p
    # A dismissal: one of the 30 most popular items shown, the member's least liked of 3.
    popular = np.argsort(-log_pop)[:30]
    shown = popular[rng.integers(0, 30, (len(member), 3))]
    dislike = shown[np.arange(len(member)), np.argmin(np.take_along_axis(logits, shown, 1), 1)]
    dismissed = rng.random(len(member)) < spec.dismiss_p

    def columns(mask: np.ndarray, items: np.ndarray, feedback: int) -> dict:
        return {
            "member": member[mask],
            "day": day[mask],
            "hour": hour[mask],
            "context": context[mask],
            "slot": slot[mask],
            "x": moments[mask, 4],
            "y": moments[mask, 5],
            "item": items[mask],
            "feedback": np.full(int(mask.sum()), feedback),
        }

    used, waved = columns(engaged, chosen, 0), columns(dismissed, dislike, 1)
    events = {key: np.concatenate([used[key], waved[key]]) for key in used}
    order = np.lexsort((events["feedback"], events["hour"], events["day"], events["member"]))
    events = {key: value[order] for key, value in events.items()}
    events["home"] = member_home[events["member"]]
    events["t_s"] = events["day"] * DAY_S + events["hour"] * 3600.0
    return Households(
        spec=spec,
        item_kind=item_kind,
        item_names=item_names,
        member_home=member_home,
        member_attributes=attributes,
        home_xy=home_xy,
        gym_xy=gym_xy,
        work_xy=work_xy,
        home_devices=home_devices,
        events=events,
    )


def blurred_contexts(world: Households, blur_m: float) -> np.ndarray:
    """Every event's context as a device infers it from a location blurred to ``blur_m``."""
    ev = world.events
    member = ev["member"]
    return infer_context(
        ev["x"],
        ev["y"],
        ev["hour"],
        world.home_xy[ev["home"]],
        world.gym_xy[member],
        world.work_xy[member],
        blur_m,
    )
