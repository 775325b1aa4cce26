"""Guards the PySide6 6.12 bug: void Qt calls dropped a reference to None (then none_dealloc)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QGraphicsEllipseItem, QLabel, QProgressBar, QSlider


def test_none_refcount_does_not_fall_across_qt_calls(qtbot):
    label, slider, bar = QLabel(), QSlider(), QProgressBar()
    item = QGraphicsEllipseItem(0, 0, 5, 5)
    for w in (label, slider, bar):
        qtbot.addWidget(w)
    before = sys.getrefcount(None)
    for k in range(2000):
        label.setText(str(k))
        slider.setValue(k % 100)
        bar.setValue(k % 100)
        label.setVisible(k % 2 == 0)
        item.setPos(QPointF(k, k))
        label.update()
    after = sys.getrefcount(None)
    assert after >= before - 50, f"None lost {before - after} references over 12,000 Qt calls"


def test_pinned_pyside6_version():
    import PySide6

    assert PySide6.__version__ == "6.11.3"  # 6.12 corrupts None's refcount on Python 3.11
