"""Two well-known architectures, built here, whose published sizes check the importer's card.

The importer counts parameters and MACs from an ONNX graph it has never seen; these
networks, exported by torch and imported like any user's file, must come out at the
figures their authors and torchvision publish (``PUBLISHED``). Weights stay random: the
counts depend on the architecture only.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class Published:
    """A network's published size at 224 × 224: parameters, multiply-accumulates, source."""

    params: int
    macs: int
    source: str


PUBLISHED: dict[str, Published] = {
    # torchvision's model table counts multiply-adds and calls them GFLOPS.
    "resnet18": Published(
        11_689_512,
        1_814_000_000,
        "torchvision ResNet18_Weights.IMAGENET1K_V1: num_params 11,689,512, 1.81 G(multiply-adds); "
        "He et al. 2016 Table 1: 1.8e9 FLOPs (multiply-adds)",
    ),
    "mobilenet_v2": Published(
        3_504_872,
        300_000_000,
        "torchvision MobileNet_V2_Weights.IMAGENET1K_V1: num_params 3,504,872, 0.30 G(multiply-adds); "
        "Sandler et al. 2018 Table 8: 3.4M params, 300M MAdds",
    ),
}


def _conv_bn(c_in: int, c_out: int, kernel: int, stride: int, groups: int = 1, act: bool = True):
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
    ]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1×1 expand, 3×3 depthwise, 1×1 linear projection."""

    def __init__(self, c_in: int, c_out: int, stride: int, expand: int):
        super().__init__()
        hidden = c_in * expand
        layers = [] if expand == 1 else [_conv_bn(c_in, hidden, 1, 1)]
        layers += [
            _conv_bn(hidden, hidden, 3, stride, groups=hidden),
            _conv_bn(hidden, c_out, 1, 1, act=False),
        ]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x):
        return x + self.block(x) if self.residual else self.block(x)


def mobilenet_v2(num_classes: int = 1000) -> nn.Module:
    """MobileNetV2 (width 1.0) as in Sandler et al. 2018, Table 2."""
    settings = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ]
    layers: list[nn.Module] = [_conv_bn(3, 32, 3, 2)]
    c_in = 32
    for expand, c_out, repeats, stride in settings:
        for i in range(repeats):
            layers.append(InvertedResidual(c_in, c_out, stride if i == 0 else 1, expand))
            c_in = c_out
    layers.append(_conv_bn(c_in, 1280, 1, 1))
    return nn.Sequential(
        *layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(1280, num_classes)
    )


class BasicBlock(nn.Module):
    """ResNet's two-3×3 block with an identity or 1×1 projection shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.shortcut = (
            nn.Identity()
            if stride == 1 and c_in == c_out
            else nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.body(x) + self.shortcut(x))


def resnet18(num_classes: int = 1000) -> nn.Module:
    """ResNet-18 as in He et al. 2016, Table 1."""
    layers: list[nn.Module] = [
        nn.Conv2d(3, 64, 7, 2, 3, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2, 1),
    ]
    c_in = 64
    for c_out, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        layers += [BasicBlock(c_in, c_out, stride), BasicBlock(c_out, c_out, 1)]
        c_in = c_out
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes))


BUILDERS = {"resnet18": resnet18, "mobilenet_v2": mobilenet_v2}
