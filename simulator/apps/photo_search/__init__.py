"""Photo search on the phone: on-device CLIP-style encoders and a usearch HNSW index.

Modules: :mod:`.gallery` (the photos and queries of the run, planned from the seed, and the
models' outputs on them, cached), :mod:`.index` (the vector index and the cost of its work),
:mod:`.costs` (the measured graph-walk factor), :mod:`.app` (the app), :mod:`.metrics` (the
summary, from the trace), :mod:`.records`, :mod:`.table` (the CLI table). Importing the
package loads neither torch, ONNX Runtime nor usearch.
"""

from simulator.apps.photo_search.app import PhotoSearch
from simulator.apps.photo_search.records import IndexBatch, PhotoQuery, PhotoTaken
from simulator.trace import register_records

App = PhotoSearch
register_records(App.RECORDS)

__all__ = ["App", "IndexBatch", "PhotoQuery", "PhotoSearch", "PhotoTaken"]
