"""The student of patient distillation: torchvision's GoogLeNet from scratch with three small heads.

``proj`` maps the 1024-d pooled GoogLeNet features onto the teacher's standardised 1280-d features,
``kd`` gives 1000 ImageNet logits (matched with KL to the teacher's) and ``task`` the teacher probe's
standardised scalp-disease logit. Only the GoogLeNet trunk goes on to fine-tuning (``train --init``).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..serving.network import build_scalpnet


class FunctionMatchingStudent(nn.Module):
    def __init__(self, teacher_dim: int = 1280, teacher_classes: int = 1000) -> None:
        super().__init__()
        self.net, _ = build_scalpnet(init="scratch")
        self.proj = nn.Linear(1024, teacher_dim)
        self.kd = nn.Linear(1024, teacher_classes)
        self.task = nn.Linear(1024, 1)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """x: standardised N×3×H×W → pooled N×1024 (GoogLeNet's avgpool after ``inception5b``)."""
        return torch.flatten(self.net.backbone.avgpool(self.net.forward_features(x)), 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        p = self.pooled(x)
        return self.proj(p), self.kd(p), self.task(p).squeeze(1)


def trunk_state(student: FunctionMatchingStudent) -> dict[str, torch.Tensor]:
    """The GoogLeNet weights without its ``fc`` head, in the format ``build_scalpnet(init=PATH)`` reads."""
    state = {k: v.detach().clone().float() for k, v in student.net.backbone.state_dict().items()
             if not k.startswith("fc.")}
    state["__transform_input__"] = False  # inputs are standardised with ImageNet mean/std by the checkpoint
    return state


def save_trunk(student: FunctionMatchingStudent, path: Path) -> Path:
    """Write :func:`trunk_state` atomically to ``path`` (a ``.pth`` for ``python -m scalp_model train --init``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(trunk_state(student), tmp)
    tmp.replace(path)
    return path
