"""The worked example: silero-vad's ONNX model (shipped in its pip package) and VAD data.

``silero_vad_file()`` finds ``silero_vad/data/silero_vad.onnx`` without importing the
package (its ``__init__`` imports torch and wants torchaudio for file I/O, which we never
need). ``vad_sequences(n)`` makes labelled speech / non-speech windows from our audio
generator (``models.data.audio``, espeak-ng voices of the held-out ``test`` split): a
clip is a word in room noise (speech) or room noise alone (non-speech), rendered exactly as
the smart home renders what the speaker hears; a clip is 31 windows of 32 ms
(silero's 512 samples at 16 kHz) each with the 64 samples before it as context, as silero's
own wrapper feeds it (576 samples), streamed with the model's state carried.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

from models.data import audio

CHUNK = 512  # silero-vad's window at 16 kHz
CONTEXT = 64  # samples of the previous window silero's wrapper prepends
WINDOW = CHUNK + CONTEXT
CLASSES = ("non-speech", "speech")


def silero_vad_file(name: str = "silero_vad.onnx") -> Path:
    """The ONNX file inside the installed ``silero-vad`` package (``pip install silero-vad``)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("silero-vad is not installed: pip install -r requirements.txt")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / name


def windows_of(clips: np.ndarray) -> np.ndarray:
    """Every 576-sample window (512 new + 64 context) of 1 s clips ``(N, 16000)``: ``(N, 31, 576)``."""
    starts = np.arange(CONTEXT, clips.shape[1] - CHUNK + 1, CHUNK)
    idx = (starts - CONTEXT)[:, None] + np.arange(WINDOW)[None, :]
    return clips[:, idx].astype(np.float32)


def vad_clips(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 1 s clips, half with a spoken word (label 1), half room noise only (label 0)."""
    rng = np.random.default_rng([seed, 0x5AD])
    labels = rng.permutation(np.arange(n) % 2).astype(np.int64)
    words = [*audio.SPOKEN, *audio.UNKNOWN_WORDS]
    voices = audio.voices("test")
    bank = audio.ClipBank("test")
    plans = []
    for label in labels:
        word = None
        if label:
            text = words[rng.integers(len(words))]
            word = audio.Utterance(
                audio.SPOKEN.get(text, text),
                voices[rng.integers(len(voices))],
                int(rng.integers(130, 190)),
                int(rng.integers(30, 70)),
            )
        plans.append(audio._Plan(audio.CLASSES.index("unknown" if label else "silence"), word, ()))
    bank.fill([p.word for p in plans if p.word is not None])
    bank.save()
    clips = np.stack([audio._render(p, bank, rng) for p in plans])
    return clips, labels


def vad_sequences(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` labelled clips as silero streams them: ``(n, 31, 576)`` windows, labels 0/1."""
    clips, labels = vad_clips(n, seed)
    return windows_of(clips), labels


EXAMPLE = "silero-vad"
IMPORT_OPTIONS = {
    "fixed": {"sr": 16000.0},
    "recurrent": ("state", "stateN"),
    "classes": list(CLASSES),
    "input_shape": [31, WINDOW],
}


def ensure_imported(model: str, variant: str = "fp32", devices_fit=None):
    """The card of ``model``/``variant`` from the store; the packaged example (``silero-vad``)
    is imported from its pip package first when missing, and a missing variant made with the
    graph recipe of that name (``dynamic``, ``fp16``, ...). Prints what it does to stderr."""
    from models.cards import find_card
    from models.store import store_dir

    try:
        return find_card(model, variant)
    except ValueError:
        if model != EXAMPLE:
            raise
    try:
        find_card(model, "fp32")
    except ValueError:
        from models.importer import import_model

        print(f"importing {EXAMPLE} from its pip package into {store_dir()} (first use)", file=sys.stderr)
        import_model(silero_vad_file(), model, devices_fit=devices_fit, **IMPORT_OPTIONS)
    if variant != "fp32":
        from models.importer.compress import compress_imported

        print(f"compressing {model} with {variant} (first use)", file=sys.stderr)
        compress_imported(model, variant, store_dir(), devices_fit)
    return find_card(model, variant)


def main(argv: list[str] | None = None) -> int:
    """``python -m models.importer.vad path`` prints the ONNX file; ``... samples DIR [N]``
    writes ``DIR/vad_x.npy`` and ``DIR/vad_y.npy``."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["path"]:
        print(silero_vad_file())
        return 0
    if args[:1] == ["samples"] and len(args) in (2, 3):
        out = Path(args[1])
        out.mkdir(parents=True, exist_ok=True)
        x, y = vad_sequences(int(args[2]) if len(args) == 3 else 400)
        np.save(out / "vad_x.npy", x)
        np.save(out / "vad_y.npy", y)
        print(f"{out / 'vad_x.npy'} {list(x.shape)}  {out / 'vad_y.npy'} speech {int(y.sum())} / {len(y)}")
        return 0
    print("usage: python -m models.importer.vad path | samples DIR [N]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
