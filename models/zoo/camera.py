"""``camera_detector``: what is in front of the smart camera (empty, person, package, pet).

Plain Conv-BN-ReLU blocks, max-pooling and a fixed-size average pool: every op has a fast
INT8 kernel, so static post-training quantization pays off in both size and speed.
"""

from __future__ import annotations

from torch import nn

from models.data import images
from models.zoo import ZooSpec


def conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class CameraDetector(nn.Module):
    """3x64x64 frame -> class logits; about 115k parameters, 10 M MACs."""

    def __init__(self, n_classes: int = len(images.CLASSES), width: int = 16):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            conv_bn_relu(3, w, stride=2),  # 32x32
            conv_bn_relu(w, 2 * w, stride=2),  # 16x16
            conv_bn_relu(2 * w, 4 * w),
            nn.MaxPool2d(2),  # 8x8
            conv_bn_relu(4 * w, 4 * w),
            nn.MaxPool2d(2),  # 4x4
            conv_bn_relu(4 * w, 6 * w),
            nn.AvgPool2d(4),  # fixed size: exports to a quantizable AveragePool
            nn.Flatten(),
        )
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(6 * w, n_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


SPECS = [
    ZooSpec(
        name="camera_detector",
        device_kind="camera",
        task="smart-camera scene: empty, person, package or pet",
        classes=images.CLASSES,
        input_shape=images.INPUT_SHAPE,
        build=CameraDetector,
        make_dataset=images.make_dataset,
        data_version=images.VERSION,
    )
]
