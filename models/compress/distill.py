"""Knowledge distillation: a thin student learns from the trained teacher's soft outputs.

The student has the teacher's topology with a fraction of its channels (built by structured
slicing, then re-initialised, so it is loadable by ``prune.resize_to_state_dict``). The
control is the same student, same data, same epochs and seed, trained on the labels alone:
the card reports both accuracies so the gain is measured, not claimed.

Loss: function matching (Beyer et al. 2022, "a good teacher is patient and consistent"): each
batch is mixed up and the teacher labels exactly the inputs the student sees, so the student
learns the teacher's function between the training points, which hard labels cannot give.
``T^2 * KL(teacher_T || student_T)`` (Hinton et al. 2015) on those inputs.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from models.compress.prune import structured_prune


def thin_student(teacher: nn.Module, example_input: torch.Tensor, width: float, seed: int = 0) -> nn.Module:
    """The teacher's architecture with ``width`` of its prunable channels, freshly initialised."""
    student, _ = structured_prune(teacher, example_input, 1.0 - width, random_keep=True)
    torch.manual_seed(seed)
    for module in student.modules():
        if module is not student and hasattr(module, "reset_parameters"):
            module.reset_parameters()
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
    return student


def mixup_ce_loss_fn(mixup: float, seed: int = 0):
    """Cross-entropy on mixup inputs with mixed hard labels: the control for ``matching_loss_fn``."""
    generator = torch.Generator().manual_seed(seed)

    def loss(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor, _idx: torch.Tensor) -> torch.Tensor:
        lam = float(torch.distributions.Beta(mixup, mixup).sample()) if mixup > 0 else 1.0
        perm = torch.randperm(len(xb), generator=generator)
        logits = model(lam * xb + (1 - lam) * xb[perm])
        return lam * F.cross_entropy(logits, yb) + (1 - lam) * F.cross_entropy(logits, yb[perm])

    return loss


def matching_loss_fn(teacher: nn.Module, mixup: float, temperature: float, seed: int = 0):
    """Function matching (Beyer et al. 2022): the teacher labels the very mixup inputs the student sees."""
    generator = torch.Generator().manual_seed(seed)
    teacher = teacher.eval()

    def loss(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor, _idx: torch.Tensor) -> torch.Tensor:
        lam = float(torch.distributions.Beta(mixup, mixup).sample()) if mixup > 0 else 1.0
        mixed_x = lam * xb + (1 - lam) * xb[torch.randperm(len(xb), generator=generator)]
        with torch.no_grad():
            teacher_log_p = F.log_softmax(teacher(mixed_x) / temperature, dim=1)
        student_log_p = F.log_softmax(model(mixed_x) / temperature, dim=1)
        return temperature**2 * F.kl_div(student_log_p, teacher_log_p, log_target=True, reduction="batchmean")

    return loss
