"""One palette for every view: a colour per device kind and message kind.

Colours come from the Okabe–Ito (device kinds) and Paul Tol "bright" (message kinds) sets,
which stay distinguishable under the common colour-vision deficiencies. A colour means one
thing everywhere (topology, plots, timeline, log). ``font_scale`` enlarges all text for a
projector; views read :func:`font` instead of hard-coding point sizes.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QFont

DEVICE_KIND_COLORS: dict[str, str] = {
    "watch": "#E69F00",  # orange
    "phone": "#0072B2",  # blue
    "camera": "#009E73",  # bluish green
    "speaker": "#CC79A7",  # reddish purple
    "hub": "#56B4E9",  # sky blue
    "cloud": "#5A5A5A",  # dark grey
    "car": "#F0E442",  # yellow (the last Okabe–Ito hue not taken; vermillion means down / playhead)
}
UNKNOWN_DEVICE_COLOR = "#999999"

# Core message kinds; apps add theirs (ui/apps/<type>/ MESSAGE_COLORS).
MESSAGE_KIND_COLORS: dict[str, str] = {
    "ack": "#BBBBBB",  # grey
    "deploy": "#228833",  # green: a model's bytes on their way to a device
    "fl_update": "#882255",  # wine (Tol muted): the yellow it was read as the car kind's #F0E442
    "model": "#4477AA",  # blue
}
UNKNOWN_MESSAGE_COLOR = "#7F7F7F"

# Marks and spans of records whose display hook gives no colour (apps give their own).
DEFAULT_MARK_COLOR = "#882255"
DEFAULT_SPAN_COLOR = "#332288"
INFERENCE_ALPHA = 200
BACKGROUND = "#FFFFFF"
PANEL_BACKGROUND = "#F7F7F7"
TEXT = "#202020"
MUTED_TEXT = "#707070"
LINK_COLOR = "#606060"
LINK_DOWN_COLOR = "#D55E00"
OFF_COLOR = "#C8C8C8"
PLAYHEAD_COLOR = "#D55E00"

LINK_STYLES: dict[str, dict] = {
    # pen width (px) and Qt dash pattern name per link type
    "ble": {"width": 2.0, "dash": "dot", "label": "BLE"},
    "wifi": {"width": 2.5, "dash": "solid", "label": "Wi-Fi"},
    "wan": {"width": 3.0, "dash": "dash", "label": "WAN"},
}
DEFAULT_LINK_STYLE = {"width": 2.0, "dash": "solid", "label": "link"}

_qcolors: dict[str, QColor] = {}


def qcolor(name: str) -> QColor:
    """A QColor for a ``#RRGGBB`` name (display hooks give colours as names), cached."""
    color = _qcolors.get(name)
    if color is None:
        color = _qcolors[name] = QColor(name)
    return QColor(color)


def device_color(kind: str | None) -> QColor:
    return QColor(DEVICE_KIND_COLORS.get(kind or "", UNKNOWN_DEVICE_COLOR))


def add_message_colors(colors: dict[str, str]) -> None:
    """An app's message kinds and their colours (a kind keeps the first colour it got)."""
    for kind, color in colors.items():
        MESSAGE_KIND_COLORS.setdefault(kind, color)


def message_color(kind: str | None) -> QColor:
    return QColor(MESSAGE_KIND_COLORS.get(kind or "", UNKNOWN_MESSAGE_COLOR))


def link_style(link_type: str | None) -> dict:
    key = (link_type or "").lower().replace("-", "").replace("_", "")
    return LINK_STYLES.get(key, DEFAULT_LINK_STYLE)


class _FontSettings(QObject):
    """Holds the font scale; ``changed`` fires when the user enlarges or shrinks text."""

    changed = Signal(float)

    def __init__(self) -> None:
        super().__init__()
        self.scale = 1.0
        self.base_pt = 10.0

    def set_scale(self, scale: float) -> None:
        scale = max(0.7, min(2.5, round(scale, 2)))
        if scale != self.scale:
            self.scale = scale
            self.changed.emit(scale)


_settings: _FontSettings | None = None


def font_settings() -> _FontSettings:
    """The process-wide font settings (created on first use, after QApplication exists)."""
    global _settings
    if _settings is None:
        _settings = _FontSettings()
    return _settings


def font(size_factor: float = 1.0, bold: bool = False) -> QFont:
    """A font scaled by the projector setting; ``size_factor`` relative to body text."""
    settings = font_settings()
    f = QFont()
    f.setPointSizeF(settings.base_pt * settings.scale * size_factor)
    f.setBold(bold)
    return f


def format_time(t_s: float, with_day: bool = True) -> str:
    """Simulated time as ``d1 10:23:45`` (days counted from 1) or ``10:23:45``."""
    t = max(0.0, float(t_s))
    day, rem = divmod(int(t), 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    clock = f"{h:02d}:{m:02d}:{s:02d}"
    return f"d{day + 1} {clock}" if with_day and t >= 86400 else clock


def format_run_length(d_s: float) -> str:
    """A run's length, as the clock reads it (``05:53:40 of 24:00:00``): ``14:00:00`` up to
    a day (``24:00:00`` for exactly one), ``3 days`` for whole days, else ``2 d 06:00:00``."""
    t = max(0, int(round(float(d_s))))
    if t <= 86400:
        h, rem = divmod(t, 3600)
        m, s = divmod(rem, 60)
        return f"{h:02d}:{m:02d}:{s:02d}"
    days, rem = divmod(t, 86400)
    return f"{days} days" if rem == 0 else f"{days} d {format_time(rem, with_day=False)}"


def format_clock(t_s: float, duration_s: float) -> str:
    """The player's clock: ``05:53:40`` in a run of up to a day (its end reads ``24:00:00``,
    not the next day's midnight); ``d2 05:53:40`` in a longer one (days counted from 1)."""
    t = max(0, int(float(t_s)))
    if duration_s <= 86400:
        return format_run_length(min(t, 86400))
    day, rem = divmod(t, 86400)
    if rem == 0 and day > 0 and t >= duration_s:
        day, rem = day - 1, 86400  # the last instant of the last day
    return f"d{day + 1} {format_run_length(rem)}"


def format_duration(d_s: float | None) -> str:
    if d_s is None or d_s != d_s:
        return "–"
    d = float(d_s)
    if d < 1:
        return f"{d * 1000:.0f} ms"
    if d < 120:
        return f"{d:.1f} s"
    if d < 7200:
        return f"{d / 60:.1f} min"
    return f"{d / 3600:.1f} h"


def format_energy(j: float) -> str:
    if j < 1:
        return f"{j * 1000:.1f} mJ"
    if j < 3600:
        return f"{j:.1f} J"
    return f"{j / 3600:.2f} Wh"


def format_power(w: float) -> str:
    if w < 1e-3:
        return f"{w * 1e6:.0f} µW"
    if w < 1:
        return f"{w * 1000:.1f} mW"
    return f"{w:.2f} W"


def format_bytes(n: float) -> str:
    n = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"
