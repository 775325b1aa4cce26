"""``gesture_imu``: wrist gesture / activity from 2 s of 6-axis IMU (watch, federated later).

A small 1D CNN of Conv-BN-ReLU blocks with a fixed-size average pool, so it is cheap to
train on-device and every op quantizes.
"""

from __future__ import annotations

from torch import nn

from models.data import imu
from models.zoo import ZooSpec


def conv_bn_relu_1d(c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm1d(c_out),
        nn.ReLU(inplace=True),
    )


class GestureIMU(nn.Module):
    """6x100 IMU window -> gesture logits; about 26k parameters, 0.4 M MACs."""

    def __init__(self, n_classes: int = len(imu.CLASSES), width: int = 24):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            conv_bn_relu_1d(len(imu.CHANNELS), w, 7, stride=2),  # 50
            conv_bn_relu_1d(w, 2 * w, 5, stride=2),  # 25
            conv_bn_relu_1d(2 * w, 2 * w, 5, stride=2),  # 13
            conv_bn_relu_1d(2 * w, 2 * w, 3),
            nn.AvgPool1d(13),  # fixed size: exports to a quantizable AveragePool
            nn.Flatten(),
        )
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(2 * w, n_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


SPECS = [
    ZooSpec(
        name="gesture_imu",
        device_kind="watch",
        task="wrist gesture/activity from 6-axis IMU: " + ", ".join(imu.CLASSES),
        classes=imu.CLASSES,
        input_shape=imu.INPUT_SHAPE,
        build=GestureIMU,
        make_dataset=imu.make_dataset,
        data_version=imu.VERSION,
    )
]
