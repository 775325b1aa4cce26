"""Health-escalation networks: the watch's heart-rate screener and the phone's ECG verifier.

Both are plain Conv1d/BatchNorm/ReLU stacks ending in average+max pooling over time and one
Linear layer: the op set ONNX Runtime's static INT8 quantization covers end to end.
Call :func:`fuse_for_export` before export so BatchNorm is folded into the convolutions.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from models.data import ecg, wearer

SCREENER_CLASSES = ("normal", "suspicious")
SCREENER_INPUT_SHAPE = (len(wearer.SCREEN_CHANNELS), 60)  # 300 s of 5 s readings
VERIFIER_CLASSES = ecg.CLASSES
VERIFIER_INPUT_SHAPE = (1, int(ecg.WINDOW_S * ecg.FS_HZ))  # 10 s at 125 Hz


def _conv_block(c_in: int, c_out: int, kernel: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm1d(c_out),
        nn.ReLU(),
    )


class _PooledConvNet(nn.Module):
    """Conv blocks, then [mean over time, max over time] -> Linear."""

    def __init__(self, input_shape, blocks, n_classes: int):
        super().__init__()
        c_in, length = input_shape
        layers = []
        for c_out, kernel, stride in blocks:
            layers.append(_conv_block(c_in, c_out, kernel, stride))
            c_in = c_out
            length = (length + 2 * (kernel // 2) - kernel) // stride + 1
        self.features = nn.Sequential(*layers)
        # fixed-size pools (not adaptive) export to plain AveragePool/MaxPool, which quantize
        self.avg_pool = nn.AvgPool1d(length)
        self.max_pool = nn.MaxPool1d(length)
        self.classifier = nn.Linear(2 * c_in, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        pooled = torch.cat([self.avg_pool(h), self.max_pool(h)], dim=1).flatten(1)
        return self.classifier(pooled)


class HRScreener(_PooledConvNet):
    """Watch screener: 5 min of PPG heart rate + wrist motion -> normal / suspicious.

    Input ``(N, 3, 60)`` from ``wearer.screening_windows``; ~3k parameters.
    """

    classes = SCREENER_CLASSES
    input_shape = SCREENER_INPUT_SHAPE

    def __init__(self):
        super().__init__(self.input_shape, [(12, 5, 1), (16, 5, 2), (24, 3, 2)], len(self.classes))


class ECGVerifier(_PooledConvNet):
    """Phone verifier: 10 s single-lead ECG at 125 Hz -> normal / tachycardia / bradycardia / af.

    Input ``(N, 1, 1250)`` in mV; ~82k parameters, ~5M MACs: small for a phone, and wide
    enough that an INT8 file is mostly weights rather than fixed graph and scale overhead.
    The last layers see ~1.5 s, enough for two consecutive RR intervals at 60 bpm.
    """

    classes = VERIFIER_CLASSES
    input_shape = VERIFIER_INPUT_SHAPE

    def __init__(self):
        blocks = [(12, 7, 2), (24, 5, 2), (48, 5, 2), (64, 5, 2), (96, 5, 2), (96, 3, 1)]
        super().__init__(self.input_shape, blocks, len(self.classes))


def fuse_for_export(model: nn.Module) -> nn.Module:
    """An eval-mode copy with every Conv1d+BatchNorm1d pair folded into one Conv1d."""
    fused = copy.deepcopy(model).eval()
    for module in fused.modules():
        if isinstance(module, nn.Sequential) and len(module) == 3 and isinstance(module[1], nn.BatchNorm1d):
            module[0] = fuse_conv_bn_eval(module[0], module[1])
            module[1] = nn.Identity()
    return fused


MODELS: dict[str, type[nn.Module]] = {"hr_screener": HRScreener, "ecg_verifier": ECGVerifier}
