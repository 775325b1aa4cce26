"""Photo-search panel: the last query at the playhead with its top-10 thumbnails (hits in
green), the index's growth over the days, and the run's numbers.

Every number comes from ``simulator.apps.photo_search.metrics.summarize`` on the trace up
to the playhead (recomputed only when a new query or index batch has been reached); the
thumbnails are the photos themselves, redrawn from their ``PhotoTaken`` records.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from models.data import photos
from simulator.apps.photo_search.records import IndexBatch, PhotoQuery, PhotoTaken
from ui import theme
from ui.session import Session

HIT_COLOR = "#228833"  # green: the photo answers the query
MISS_COLOR = "#BBBBBB"  # grey: it does not
INDEXED_COLOR = "#4477AA"  # blue: photos in the index
TAKEN_COLOR = "#999999"  # grey: photos taken (the gap is waiting for the charger)
THUMB_PX = 72
COLUMNS = 5


def thumbnail(record: PhotoTaken) -> QImage:
    """The photo of ``record``, as an image ``THUMB_PX`` wide."""
    scene = photos.Scene(record.subject, record.colour or None, record.room, record.time_of_day)
    pixels = photos.photo_pixels(record.pixel_seed, record.photo_id, scene)
    rgb = np.ascontiguousarray((pixels.transpose(1, 2, 0) * 255).astype(np.uint8))
    image = QImage(rgb.data, photos.SIZE, photos.SIZE, 3 * photos.SIZE, QImage.Format.Format_RGB888).copy()
    return image.scaled(THUMB_PX, THUMB_PX, Qt.AspectRatioMode.KeepAspectRatio)


class ResultGrid(QWidget):
    """The top results as thumbnails, best first, a green frame on each that answers the query."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.items: list[tuple[QImage, float, bool, str]] = []
        self.message = "no search yet"
        self.setFixedHeight(2 * (THUMB_PX + 28) + 8)  # the two rows of thumbnails never squeeze
        self.setMinimumWidth(COLUMNS * (THUMB_PX + 10))
        self.setToolTip(
            "The phone's top results: cosine similarity under each; green frame = answers the query"
        )

    def set_items(self, items: list[tuple[QImage, float, bool, str]], message: str = "") -> None:
        self.items, self.message = items, message
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(theme.PANEL_BACKGROUND))
        if not self.items:
            p.setPen(QColor(theme.MUTED_TEXT))
            p.setFont(theme.font(1.0))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.message)
            return
        cell_w = self.width() / COLUMNS
        p.setFont(theme.font(0.9, bold=True))
        for i, (image, score, hit, _room) in enumerate(self.items):
            row, col = divmod(i, COLUMNS)
            x = col * cell_w + (cell_w - THUMB_PX) / 2
            y = row * (THUMB_PX + 28) + 6
            p.setPen(QPen(QColor(HIT_COLOR if hit else MISS_COLOR), 5))
            p.drawRect(QRectF(x - 3, y - 3, THUMB_PX + 6, THUMB_PX + 6))
            p.drawImage(QPointF(x, y), image)
            p.setPen(QColor(HIT_COLOR if hit else theme.MUTED_TEXT))
            p.drawText(
                QRectF(col * cell_w, y + THUMB_PX + 4, cell_w, 22),
                Qt.AlignmentFlag.AlignCenter,
                f"#{i + 1}  {score:.2f}",
            )


class GrowthChart(QWidget):
    """Photos taken and photos indexed over the run, up to the playhead."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.taken: list[float] = []
        self.batches: list[tuple[float, int]] = []
        self.duration_s = 1.0
        self.t = 0.0
        self.setMinimumHeight(90)
        self.setToolTip(
            "Grey: photos taken (the library counts from the start). Blue: photos in the index;"
            " it grows in steps while the phone charges. Orange: playhead."
        )

    def set_data(
        self, taken: list[float], batches: list[tuple[float, int]], duration_s: float, t: float
    ) -> None:
        self.taken, self.batches, self.duration_s, self.t = taken, batches, max(duration_s, 1.0), t
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor(theme.PANEL_BACKGROUND))
        w, h = self.width(), self.height() - 16
        top = max(len(self.taken), 1)

        def point(t: float, n: int) -> QPointF:
            return QPointF(t / self.duration_s * w, h - n / top * (h - 18))

        p.setFont(theme.font(0.85))
        for day in range(int(self.duration_s // 86_400) + 1):
            x = day * 86_400 / self.duration_s * w
            p.setPen(QColor(theme.MUTED_TEXT))
            p.drawText(QRectF(x + 3, h, 80, 16), Qt.AlignmentFlag.AlignLeft, f"day {day + 1}")
            p.setPen(QPen(QColor("#DDDDDD"), 1))
            p.drawLine(QPointF(x, 0), QPointF(x, h))
        p.setPen(QPen(QColor(TAKEN_COLOR), 2))
        step = max(1, len(self.taken) // 400)
        previous = point(0.0, 0)
        for i in range(0, len(self.taken), step):
            current = point(max(self.taken[i], 0.0), i + 1)
            p.drawLine(previous, current)
            previous = current
        p.setPen(QPen(QColor(INDEXED_COLOR), 2.5))
        previous, size = point(0.0, 0), 0
        for t, size in self.batches:
            current = point(t, size)
            p.drawLine(previous, QPointF(current.x(), previous.y()))
            p.drawLine(QPointF(current.x(), previous.y()), current)
            previous = current
        p.drawLine(previous, QPointF(self.t / self.duration_s * w, previous.y()))
        p.setPen(QColor(theme.TEXT))
        p.drawText(
            QRectF(6, 2, w - 12, 16),
            Qt.AlignmentFlag.AlignLeft,
            f"indexed {size:,} of {len(self.taken):,} taken",
        )
        p.setPen(QPen(QColor(theme.PLAYHEAD_COLOR), 2))
        x = self.t / self.duration_s * w
        p.drawLine(QPointF(x, 0), QPointF(x, h))


MONITORS = (
    ("photos_indexed", "indexed", "photos in the phone's index (of those taken so far)", "{:,.0f}"),
    (
        "recall_at_10",
        "recall@10",
        "share of the top 10 that answer each query (our encoders); tag search below",
        "{:.2f}",
    ),
    (
        "index_recall_at_10",
        "index recall@10",
        "top 10 of the HNSW index that exact search also returns",
        "{:.2f}",
    ),
    (
        "query_p95_ms",
        "query p95",
        "text encoder + index search on the phone's clock (cost model), 95th percentile",
        "{:.2f} ms",
    ),
    (
        "bytes_off_device",
        "off the phone",
        "bytes of photos, embeddings or queries the phone sent (from every Message)",
        "{:,.0f} B",
    ),
)


class PhotoSearchPanel(QWidget):
    """See module docstring."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.session: Session | None = None
        self.app = ""
        self._key: tuple | None = None
        self._thumbs: dict[int, QImage] = {}
        # the content scrolls when the dock is shorter than it, instead of overlapping
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setMinimumHeight(470)  # monitors, the query and both rows of results without scrolling
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer.addWidget(scroll)
        content = QWidget()
        scroll.setWidget(content)
        layout = QVBoxLayout(content)
        title = QLabel("Photo search on the phone")
        title.setFont(theme.font(1.3, bold=True))
        layout.addWidget(title)
        grid = QGridLayout()
        self.monitors: dict[str, QLabel] = {}
        self.sublabels: dict[str, QLabel] = {}
        for col, (key, label, tip, _) in enumerate(MONITORS):
            value = QLabel("–")
            value.setFont(theme.font(1.6, bold=True))
            value.setAlignment(Qt.AlignmentFlag.AlignCenter)
            value.setToolTip(tip)
            name = QLabel(label)
            name.setAlignment(Qt.AlignmentFlag.AlignCenter)
            name.setToolTip(tip)
            sub = QLabel("")
            sub.setAlignment(Qt.AlignmentFlag.AlignCenter)
            sub.setStyleSheet(f"color: {theme.MUTED_TEXT}")
            grid.addWidget(value, 0, col)
            grid.addWidget(name, 1, col)
            grid.addWidget(sub, 2, col)
            self.monitors[key], self.sublabels[key] = value, sub
        layout.addLayout(grid)
        self.query = QLabel("no search yet")
        self.query.setFont(theme.font(1.25, bold=True))
        self.query.setWordWrap(True)
        layout.addWidget(self.query)
        self.wants = QLabel("")
        self.wants.setStyleSheet(f"color: {theme.MUTED_TEXT}")
        self.wants.setWordWrap(True)
        layout.addWidget(self.wants)
        self.results = ResultGrid()
        layout.addWidget(self.results)
        layout.addWidget(QLabel("Index build over the days"))
        self.growth = GrowthChart()
        layout.addWidget(self.growth)
        self.nights = QTableWidget(0, 5)
        self.nights.setHorizontalHeaderLabels(
            ["night", "photos embedded", "embed energy", "index energy", "index size"]
        )
        self.nights.verticalHeader().setVisible(False)
        self.nights.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.nights.setMaximumHeight(100)
        self.nights.setToolTip("Per night on the charger: energy from the phone's own Inference records")
        layout.addWidget(self.nights)
        layout.addStretch(1)

    def set_session(self, session: Session | None, app: str = "") -> None:
        self.session, self.app, self._key = session, app, None
        self._thumbs.clear()

    def refresh(self, t: float) -> None:
        session = self.session
        if session is None:
            return
        index = session.index
        queries = index.column(PhotoQuery, self.app)
        batches = index.column(IndexBatch, self.app)
        taken = index.column(PhotoTaken, self.app)
        key = (queries.count_at(t), batches.count_at(t), taken.count_at(t))
        if key == self._key:
            return
        self._key = key
        summary = session.summary_at(self.app, t)
        self._show_monitors(summary)
        taken_records = taken.until(t)
        self._show_query(queries.last_at(t), taken_records)
        self.growth.set_data(
            [r.taken_s for r in taken_records],
            [(b.t, b.index_size) for b in batches.until(t)],
            session.duration_s,
            t,
        )
        self._show_nights(summary.get("nights", []))

    def _show_monitors(self, summary: dict[str, Any]) -> None:
        for key, _, _, how in MONITORS:
            value = summary.get(key)
            self.monitors[key].setText("–" if value is None else how.format(value))
        self.sublabels["photos_indexed"].setText(f"of {summary['photos_taken']:,} taken")
        tags = summary.get("tag_recall_at_10")
        self.sublabels["recall_at_10"].setText("tag search –" if tags is None else f"tag search {tags:.2f}")
        kind = summary.get("index_kind")
        self.sublabels["index_recall_at_10"].setText(
            f"{kind.upper()} vs exact" if kind else "vs exact search"
        )
        self.sublabels["query_p95_ms"].setText(f"{summary['queries']} queries")
        ok = summary.get("bytes_off_device") == 0
        self.monitors["bytes_off_device"].setStyleSheet(f"color: {HIT_COLOR if ok else '#CC3311'}")
        self.sublabels["bytes_off_device"].setText(
            f"received {theme.format_bytes(summary['photo_bytes_received'])}"
        )

    def _show_query(self, query: PhotoQuery | None, taken: list[PhotoTaken]) -> None:
        if query is None:
            self.query.setText("no search yet")
            self.wants.setText("")
            self.results.set_items([], "the user has not searched yet")
            return
        self.query.setText(f"“{query.text}”")
        latency = 1e3 * (query.t - query.start_t)
        self.wants.setText(
            f"{theme.format_time(query.start_t)} · asks for {query.wants.replace(' ', ', ')} · {query.hits} of the top"
            f" {min(10, len(query.hit_flags))} answer it ({query.relevant:,} photos would) · {latency:.2f} ms on the phone"
        )
        if query.index_size == 0:
            self.results.set_items([], "empty result: no photo is indexed yet")
            return
        items = []
        keys = [int(k) for k in query.results.split()]
        scores = [float(s) for s in query.scores.split()]
        for k, score, flag in zip(keys[:10], scores[:10], query.hit_flags[:10], strict=False):
            record = taken[k]  # photos are recorded in id order
            if k not in self._thumbs:
                self._thumbs[k] = thumbnail(record)
            items.append((self._thumbs[k], score, flag == "1", record.room))
        self.results.set_items(items)

    def _show_nights(self, nights: list[dict[str, Any]]) -> None:
        self.nights.setRowCount(len(nights))
        for row, night in enumerate(nights):
            cells = [
                f"night {night['night'] + 1}" if night["night"] >= 0 else "before",
                f"{night['photos']:,}",
                theme.format_energy(night["embed_j"]),
                theme.format_energy(night["index_j"]),
                f"{night['index_size']:,}",
            ]
            for col, text in enumerate(cells):
                self.nights.setItem(row, col, QTableWidgetItem(text))


__all__ = ["PhotoSearchPanel"]
