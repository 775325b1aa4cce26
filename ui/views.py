"""The core views' one protocol: the window binds every core view to a session and shows
it the playhead. A new core view implements these two methods, and the window lists it in
``MainWindow.core_views`` (its place in the layout is the only other line)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ui.session import Session
    from ui.trace_index import TraceIndex


class CoreView(Protocol):
    def set_session(self, session: Session | None) -> None:
        """Show ``session`` (``None``: nothing open); called when a run or trace is opened."""

    def show_time(self, t: float) -> None:
        """Show the run at simulated time ``t`` (called a few times a second while playing)."""


class IndexView:
    """For a view that needs only the session's trace index: ``set_session`` gives it
    ``set_index(index)``."""

    def set_index(self, index: TraceIndex | None) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def set_session(self, session: Session | None) -> None:
        self.set_index(session.index if session is not None else None)
