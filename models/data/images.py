"""Rendered camera scenes for the smart camera's ``camera_detector``.

Every frame is drawn with numpy, nothing is downloaded: a procedural background (gradients,
value-noise textures, floor/wall splits), clutter (furniture-like blocks, plants, poles),
at most one object of interest (a person, a taped package or a quadruped pet) with random
pose, scale, position and partial occlusion, then the camera: day colour or night infrared
(grayscale, vignetting), exposure and gamma, motion blur and sensor noise.

Shapes are drawn as soft signed-distance masks so edges are anti-aliased at 64 x 64.
``make_dataset(split, n, seed)`` returns balanced ``(x, y)``; the ``test`` split draws its
backgrounds, palettes and scenes from a seed stream that training never touches.
"""

from __future__ import annotations

import numpy as np

CLASSES: tuple[str, ...] = ("empty", "person", "package", "pet")
SIZE = 64
INPUT_SHAPE: tuple[int, ...] = (3, SIZE, SIZE)
SPLITS: dict[str, int] = {"train": 0, "val": 1, "test": 2}
VERSION = "3"  # bump when the generated data change (caches key on it)
MIN_CONTRAST = 0.2  # object vs background, mean luma

_YY, _XX = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) + 0.5


# ----------------------------------------------------------------------------- masks
def _soft(signed_distance: np.ndarray) -> np.ndarray:
    """Coverage of a pixel by a shape given the signed distance (px, < 0 inside)."""
    return np.clip(0.5 - signed_distance, 0.0, 1.0)


def _ellipse(cx: float, cy: float, rx: float, ry: float, angle: float = 0.0) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    dx, dy = _XX - cx, _YY - cy
    u, v = c * dx + s * dy, -s * dx + c * dy
    r = np.sqrt((u / max(rx, 0.5)) ** 2 + (v / max(ry, 0.5)) ** 2)
    return _soft((r - 1.0) * min(rx, ry))


def _segment(x0: float, y0: float, x1: float, y1: float, width: float) -> np.ndarray:
    """A thick line with round caps (limbs, tails, poles)."""
    px, py = _XX - x0, _YY - y0
    vx, vy = x1 - x0, y1 - y0
    t = np.clip((px * vx + py * vy) / max(vx * vx + vy * vy, 1e-6), 0.0, 1.0)
    d = np.hypot(px - t * vx, py - t * vy)
    return _soft(d - width / 2)


def _box(cx: float, cy: float, w: float, h: float, angle: float = 0.0) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    dx, dy = _XX - cx, _YY - cy
    u, v = np.abs(c * dx + s * dy) - w / 2, np.abs(-s * dx + c * dy) - h / 2
    outside = np.hypot(np.maximum(u, 0), np.maximum(v, 0))
    return _soft(outside + np.minimum(np.maximum(u, v), 0))


def _quad(points: np.ndarray) -> np.ndarray:
    """Convex quadrilateral given clockwise-in-image corners (4, 2)."""
    d = np.full((SIZE, SIZE), -np.inf, dtype=np.float32)
    for i in range(4):
        (x0, y0), (x1, y1) = points[i], points[(i + 1) % 4]
        nx, ny = y1 - y0, -(x1 - x0)
        norm = max(np.hypot(nx, ny), 1e-6)
        d = np.maximum(d, ((_XX - x0) * nx + (_YY - y0) * ny) / norm)
    return _soft(d)


def _paint(img: np.ndarray, mask: np.ndarray, color: np.ndarray) -> None:
    """Composite ``color`` over ``img``; a 4-channel ``img`` also accumulates coverage."""
    if img.shape[-1] == 4:
        color = np.append(color, 1.0)
    img *= 1.0 - mask[..., None]
    img += mask[..., None] * color


# ----------------------------------------------------------------------------- background
def _value_noise(rng: np.random.Generator, octaves: int) -> np.ndarray:
    out = np.zeros((SIZE, SIZE), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        cells = 2 ** (o + 1) + 1
        grid = rng.random((cells, cells)).astype(np.float32)
        pos = np.linspace(0, cells - 1, SIZE, dtype=np.float32)
        i0 = np.minimum(pos.astype(int), cells - 2)
        f = pos - i0
        f = f * f * (3 - 2 * f)
        rows = grid[i0] * (1 - f)[:, None] + grid[i0 + 1] * f[:, None]
        layer = rows[:, i0] * (1 - f)[None, :] + rows[:, i0 + 1] * f[None, :]
        out += amp * layer
        total += amp
        amp *= 0.55
    return out / total


def _random_color(rng: np.random.Generator, lo: float = 0.05, hi: float = 0.95) -> np.ndarray:
    return rng.uniform(lo, hi, 3).astype(np.float32)


def _background(rng: np.random.Generator) -> np.ndarray:
    kind = rng.integers(4)
    a, b = _random_color(rng), _random_color(rng)
    if kind == 0:  # linear gradient
        angle = rng.uniform(0, 2 * np.pi)
        t = (np.cos(angle) * _XX + np.sin(angle) * _YY) / SIZE
        t = (t - t.min()) / max(t.max() - t.min(), 1e-6)
        img = a * (1 - t[..., None]) + b * t[..., None]
    elif kind == 1:  # value-noise texture (carpet, foliage, gravel)
        t = _value_noise(rng, int(rng.integers(2, 6)))
        img = a * (1 - t[..., None]) + b * t[..., None]
    elif kind == 2:  # wall over floor with a horizon
        horizon = rng.uniform(0.3, 0.7) * SIZE + rng.uniform(-6, 6) * (_XX / SIZE - 0.5)
        floor = (_YY > horizon).astype(np.float32)[..., None]
        tex = _value_noise(rng, 4)[..., None]
        img = a * (1 - floor) + (b * (0.8 + 0.4 * tex)) * floor
    else:  # tiles or planks
        period = rng.uniform(5, 16)
        angle = rng.uniform(0, np.pi)
        u = np.cos(angle) * _XX + np.sin(angle) * _YY
        v = -np.sin(angle) * _XX + np.cos(angle) * _YY
        lines = (np.abs(((u / period) % 1) - 0.5) > 0.45) | (
            (rng.random() < 0.5) & (np.abs(((v / period) % 1) - 0.5) > 0.45)
        )
        img = np.where(lines[..., None], b, a) * (0.85 + 0.3 * _value_noise(rng, 3)[..., None])
    return np.clip(img, 0, 1).astype(np.float32)


def _clutter(img: np.ndarray, rng: np.random.Generator) -> None:
    for _ in range(int(rng.integers(0, 5))):
        kind = rng.integers(4)
        color = _random_color(rng)
        cx, cy = rng.uniform(0, SIZE, 2)
        if kind == 0:  # furniture: plain blocks, no tape, so boxes are not "any rectangle"
            mask = _box(cx, cy, rng.uniform(6, 30), rng.uniform(6, 30), rng.uniform(-0.2, 0.2))
        elif kind == 1:  # plant / ball / lamp shade
            mask = _ellipse(cx, cy, rng.uniform(3, 10), rng.uniform(3, 10), rng.uniform(0, np.pi))
        elif kind == 2:  # pole, cable, table leg
            x1, y1 = cx + rng.uniform(-25, 25), cy + rng.uniform(-25, 25)
            mask = _segment(cx, cy, x1, y1, rng.uniform(1, 4))
        else:  # chair-like: seat + two legs
            w = rng.uniform(8, 16)
            mask = np.maximum(_box(cx, cy, w, 3), _segment(cx - w / 2 + 1, cy, cx - w / 2 + 1, cy + w, 2))
            mask = np.maximum(mask, _segment(cx + w / 2 - 1, cy, cx + w / 2 - 1, cy + w, 2))
        _paint(img, mask, color)


# ----------------------------------------------------------------------------- objects
def _person(img: np.ndarray, rng: np.random.Generator) -> None:
    height = rng.uniform(0.45, 0.95) * SIZE
    cx = rng.uniform(0.15, 0.85) * SIZE
    feet = rng.uniform(0.55, 1.05) * SIZE
    lean = rng.uniform(-0.2, 0.2)
    skin = np.array([0.85, 0.65, 0.5], np.float32) * rng.uniform(0.35, 1.1)
    shirt, trousers = _random_color(rng), _random_color(rng, 0.05, 0.6)
    head_r = height * rng.uniform(0.07, 0.09)
    hip = np.array([cx, feet - height * 0.47])
    neck = hip + np.array([np.sin(lean), -np.cos(lean)]) * height * 0.33
    shoulder_w = height * rng.uniform(0.09, 0.13)
    limb_w = max(height * 0.06, 1.2)
    sitting = rng.random() < 0.2
    # legs
    for side in (-1, 1):
        if sitting:
            knee = hip + np.array([side * 0.05 + 0.25 * rng.choice([-1, 1]), 0.02]) * height
            foot = knee + np.array([0, 0.22]) * height
        else:
            spread = rng.uniform(0.0, 0.35)
            knee = hip + np.array([side * spread * 0.4, 0.25]) * height
            foot = knee + np.array([side * spread * 0.35 + rng.uniform(-0.05, 0.05), 0.24]) * height
        _paint(img, _segment(*hip, *knee, limb_w * 1.2), trousers)
        _paint(img, _segment(*knee, *foot, limb_w), trousers)
    # torso
    torso_c = (hip + neck) / 2
    _paint(img, _ellipse(*torso_c, shoulder_w, height * 0.19, lean), shirt)
    # arms: each at a random angle (waving, carrying, hanging)
    for side in (-1, 1):
        sh = neck + np.array([side * shoulder_w * 0.9, height * 0.03])
        a1 = rng.uniform(-0.3, 2.6) * side
        elbow = sh + np.array([np.sin(a1), np.cos(a1)]) * height * 0.17
        a2 = a1 + rng.uniform(-1.2, 1.2)
        hand = elbow + np.array([np.sin(a2), np.cos(a2)]) * height * 0.16
        _paint(img, _segment(*sh, *elbow, limb_w), shirt)
        _paint(img, _segment(*elbow, *hand, limb_w * 0.85), skin)
    head = neck + np.array([np.sin(lean), -np.cos(lean)]) * head_r * 1.2
    _paint(img, _ellipse(*head, head_r, head_r * 1.15), skin)
    if rng.random() < 0.6:  # hair or hat
        _paint(
            img,
            _ellipse(head[0], head[1] - head_r * 0.5, head_r * 1.05, head_r * 0.6),
            _random_color(rng, 0, 0.5),
        )


def _package(img: np.ndarray, rng: np.random.Generator) -> None:
    w = rng.uniform(0.2, 0.55) * SIZE
    h = w * rng.uniform(0.5, 1.1)
    depth = w * rng.uniform(0.15, 0.45)
    cx, cy = rng.uniform(0.15, 0.85) * SIZE, rng.uniform(0.35, 0.9) * SIZE
    skew = rng.uniform(-0.6, 0.6) * depth
    cardboard = np.array([0.72, 0.55, 0.35], np.float32) * rng.uniform(0.6, 1.2)
    if rng.random() < 0.35:  # white mailer, padded envelope or plastic bag
        cardboard = _random_color(rng, 0.4, 1.0)
    x0, x1, y0, y1 = cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2
    front = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    top = np.array([[x0, y0], [x0 + skew, y0 - depth], [x1 + skew, y0 - depth], [x1, y0]])
    side_x = x1 if skew >= 0 else x0
    side = np.array([[side_x, y0], [side_x + skew, y0 - depth], [side_x + skew, y1 - depth], [side_x, y1]])
    if skew < 0:
        side = side[[0, 3, 2, 1]]
        top = top[[0, 3, 2, 1]]
    _paint(img, _quad(front), cardboard)
    _paint(img, _quad(top[[0, 3, 2, 1]] if skew >= 0 else top), np.clip(cardboard * 1.2, 0, 1))
    _paint(img, _quad(side if skew >= 0 else side), cardboard * 0.7)
    tape = np.clip(cardboard * rng.uniform(0.4, 1.6) + rng.uniform(-0.1, 0.1, 3), 0, 1).astype(np.float32)
    tape_w = max(w * rng.uniform(0.08, 0.16), 1.2)
    if rng.random() < 0.8:  # tape over the top and down the front
        _paint(
            img,
            _quad(top[[0, 3, 2, 1]] if skew >= 0 else top) * _box(cx + skew / 2, cy, tape_w, SIZE * 2),
            tape,
        )
        _paint(img, _box(cx, (y0 + y1) / 2, tape_w, h), tape)
    if rng.random() < 0.5:  # shipping label
        lw = w * rng.uniform(0.2, 0.35)
        _paint(
            img,
            _box(cx + rng.choice([-1, 1]) * w * 0.25, cy + h * 0.15, lw, lw * 0.7),
            np.full(3, 0.95, np.float32),
        )


def _pet(img: np.ndarray, rng: np.random.Generator) -> None:
    length = rng.uniform(0.28, 0.65) * SIZE
    cx, cy = rng.uniform(0.15, 0.85) * SIZE, rng.uniform(0.4, 0.9) * SIZE
    facing = rng.choice([-1, 1])
    fur = (
        _random_color(rng, 0.05, 0.9) if rng.random() < 0.5 else np.full(3, rng.uniform(0.1, 0.9), np.float32)
    )
    body_h = length * rng.uniform(0.22, 0.35)
    leg_len = length * rng.uniform(0.25, 0.45)
    leg_w = max(length * 0.08, 1.2)
    sitting = rng.random() < 0.25
    for i, fx in enumerate((-0.35, -0.2, 0.2, 0.35)):
        x = cx + fx * length * facing
        swing = rng.uniform(-0.3, 0.3)
        if sitting and fx * facing < 0:
            _paint(
                img, _segment(x, cy, x + facing * leg_len * 0.5, cy + leg_len * 0.4, leg_w * 1.4), fur * 0.9
            )
        else:
            tip = (x + np.sin(swing) * leg_len, cy + np.cos(swing) * leg_len)
            _paint(img, _segment(x, cy, *tip, leg_w), fur * (0.8 if i % 2 else 0.9))
    tilt = -0.5 * facing if sitting else rng.uniform(-0.15, 0.15)
    _paint(img, _ellipse(cx, cy, length * 0.45, body_h, tilt), fur)
    tail_base = np.array([cx - facing * length * 0.42, cy - body_h * 0.3])
    tail_angle = rng.uniform(-1.2, 0.6)
    tail_tip = tail_base + np.array([-facing * np.cos(tail_angle), np.sin(tail_angle)]) * length * 0.35
    _paint(img, _segment(*tail_base, *tail_tip, max(leg_w * 0.7, 1.0)), fur)
    head_r = length * rng.uniform(0.13, 0.19)
    head = np.array([cx + facing * length * 0.48, cy - body_h * rng.uniform(0.6, 1.4)])
    _paint(img, _ellipse(*head, head_r * 1.1, head_r), fur)
    _paint(
        img,
        _ellipse(head[0] + facing * head_r, head[1] + head_r * 0.3, head_r * 0.6, head_r * 0.45),
        fur * 0.85,
    )
    for side in (-0.5, 0.5):  # ears: pointed (cat) or floppy (dog)
        base = head + np.array([side * head_r, -head_r * 0.7])
        if rng.random() < 0.5:
            ear = np.array(
                [base - [head_r * 0.35, 0], base + [0, -head_r * 0.9], base + [head_r * 0.35, 0], base]
            )
            _paint(img, _quad(ear[[0, 1, 2, 3]]), fur * 0.8)
        else:
            _paint(img, _ellipse(base[0], base[1] + head_r * 0.4, head_r * 0.25, head_r * 0.55), fur * 0.7)


_DRAW = {"person": _person, "package": _package, "pet": _pet}


# ----------------------------------------------------------------------------- camera
def _occlude(img: np.ndarray, rng: np.random.Generator) -> None:
    """A foreground block (door frame, plant, railing) covering part of the scene."""
    w, h = rng.uniform(5, 18), rng.uniform(10, 64)
    mask = _box(rng.uniform(0, SIZE), rng.uniform(0, SIZE), w, h, rng.uniform(-0.3, 0.3))
    _paint(img, mask, _random_color(rng))


def _motion_blur(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    steps = int(rng.integers(2, 7))
    angle = rng.uniform(0, np.pi)
    dx, dy = np.cos(angle), np.sin(angle)
    acc = np.zeros_like(img)
    for k in range(steps):
        t = k - (steps - 1) / 2
        acc += np.roll(img, (int(round(t * dy)), int(round(t * dx))), axis=(0, 1))
    return acc / steps


def _camera(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    night = rng.random() < 0.25
    if night:  # infrared: grayscale, hot centre, strong vignetting and noise
        gray = img @ np.array([0.35, 0.45, 0.2], np.float32)
        r2 = ((_XX - SIZE / 2) ** 2 + (_YY - SIZE / 2) ** 2) / (SIZE / 2) ** 2
        gray = gray * (1.0 - rng.uniform(0.3, 0.7) * r2)
        img = np.repeat(gray[..., None], 3, axis=2)
        exposure, noise = rng.uniform(0.6, 1.4), rng.uniform(0.03, 0.09)
    else:
        tint = rng.uniform(0.8, 1.2, 3).astype(np.float32)
        img = img * tint
        exposure, noise = rng.uniform(0.5, 1.5), rng.uniform(0.01, 0.06)
    light_angle = rng.uniform(0, 2 * np.pi)
    light = 1 + rng.uniform(0, 0.5) * ((np.cos(light_angle) * _XX + np.sin(light_angle) * _YY) / SIZE - 0.5)
    img = img * (exposure * light)[..., None]
    if rng.random() < 0.3:
        img = _motion_blur(img, rng)
    img = np.clip(img, 0, 1) ** rng.uniform(0.7, 1.4)
    img = img + rng.normal(0, noise, img.shape).astype(np.float32) * np.sqrt(img + 0.05)
    return np.clip(img, 0, 1)


def _composite(background: np.ndarray, name: str, rng: np.random.Generator) -> np.ndarray:
    """Draw the object on its own layer, then keep it visible against what is behind it.

    A real object differs from its surroundings in shading and texture even where its colour
    matches; without that, some scenes would be unanswerable and accuracy would saturate on
    noise rather than on what the model can see.
    """
    layer = np.zeros((SIZE, SIZE, 4), np.float32)
    _DRAW[name](layer, rng)
    alpha = layer[..., 3:]
    covered = float(alpha.sum())
    if covered > 1.0:
        luma = np.array([0.3, 0.55, 0.15], np.float32)
        behind = float(((background @ luma)[..., None] * alpha).sum() / covered)
        front = float((layer[..., :3] @ luma).sum() / covered)
        gap = front - behind
        if abs(gap) < MIN_CONTRAST:
            direction = np.sign(gap) if abs(gap) > 0.02 else (1.0 if behind < 0.5 else -1.0)
            if not 0.0 <= behind + direction * MIN_CONTRAST <= 1.0:  # no room on that side
                direction = -direction
            shift = (direction * MIN_CONTRAST - gap) * alpha
            layer[..., :3] = np.clip(layer[..., :3] + shift, 0, alpha)
    return background * (1.0 - alpha) + layer[..., :3]


def render(label: int, rng: np.random.Generator) -> np.ndarray:
    """One scene containing object ``CLASSES[label]``, as float32 (3, 64, 64) in [0, 1]."""
    img = _background(rng)
    _clutter(img, rng)
    name = CLASSES[label]
    if name != "empty":
        img = _composite(img, name, rng)
        if rng.random() < 0.3:
            _occlude(img, rng)
        if rng.random() < 0.3:  # clutter in front of the object
            _clutter(img, rng)
    return _camera(img, rng).transpose(2, 0, 1).astype(np.float32)


def make_dataset(split: str, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` balanced, shuffled scenes: ``x`` float32 (n, 3, 64, 64), ``y`` int64 (n,)."""
    rng = np.random.default_rng([seed, SPLITS[split], 0xCA3E])
    y = rng.permutation(np.arange(n) % len(CLASSES)).astype(np.int64)
    x = np.empty((n, *INPUT_SHAPE), np.float32)
    for i, label in enumerate(y):
        x[i] = render(int(label), rng)
    return x, y
