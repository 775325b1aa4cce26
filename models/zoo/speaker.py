"""``keyword_spotter``: wake word ("home twin") and commands from a 1 s log-mel spectrogram.

Conv-BN-ReLU blocks on the 40 x 49 spectrogram, strided early to keep MACs low, then a
fixed-size average pool: every op quantizes, and it runs on a speaker's always-on core.
"""

from __future__ import annotations

from torch import nn

from models.data import audio
from models.zoo import ZooSpec
from models.zoo.camera import conv_bn_relu


class KeywordSpotter(nn.Module):
    """1x40x49 log-mel -> keyword logits; about 93k parameters, 8.6 M MACs."""

    def __init__(self, n_classes: int = len(audio.CLASSES), width: int = 32):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            conv_bn_relu(1, w, stride=2),  # 20x25
            conv_bn_relu(w, 2 * w, stride=2),  # 10x13
            conv_bn_relu(2 * w, 2 * w),
            conv_bn_relu(2 * w, 2 * w, stride=2),  # 5x7
            nn.AvgPool2d((5, 7)),  # fixed size: exports to a quantizable AveragePool
            nn.Flatten(),
        )
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(2 * w, n_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


SPECS = [
    ZooSpec(
        name="keyword_spotter",
        device_kind="speaker",
        task="keyword spotting: wake word 'home twin', yes, no, stop, go, unknown, silence",
        classes=audio.CLASSES,
        input_shape=audio.INPUT_SHAPE,
        build=KeywordSpotter,
        make_dataset=audio.make_dataset,
        data_version=audio.VERSION,
    )
]
