"""Progress measures of a distillation run, on data the student never trains on.

* Held-back views: a fixed set of views of pictures left out of training (a share of the label-free
  corpus), with the teacher's outputs computed once; the student's feature R² (1 − SSE/SST over the
  standardised teacher features, through its projector), ImageNet KL and scalp-logit agreement (Pearson r
  and sign agreement with the teacher probe) on them.
* The student's own linear probe: group k-fold CV AUC of a logistic regression on its pooled GoogLeNet
  features of every scalp photo (:mod:`scalp_model.training.crossval`), at the training size and at 224 px.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .crossval import cross_validate
from .views import ViewPolicy, make_views, resize, whole_views


class HeldBack:
    """Fixed held-back views (uint8, teacher size) and the teacher's standardised targets for them."""

    def __init__(self, images_uint8: torch.Tensor, teacher, targets: dict, teacher_size: int, policy: ViewPolicy,
                 seed: int = 12345) -> None:
        from .distill_run import targets_for

        gen = torch.Generator().manual_seed(seed)
        views = torch.cat([make_views(images_uint8[i:i + 64], teacher_size, policy, gen)
                           for i in range(0, len(images_uint8), 64)])
        self.views = (views * 255).round().to(torch.uint8)
        outs = [targets_for(teacher, self.views[i:i + 64].float() / 255, targets) for i in range(0, len(views), 64)]
        self.feats = torch.cat([o[0] for o in outs])
        self.logits = torch.cat([o[1] for o in outs])
        self.task = torch.cat([o[2] for o in outs])

    @torch.no_grad()
    def measure(self, student, size: int) -> dict[str, float]:
        from .distill_run import standardise

        was_training = student.training
        student.eval()
        f, l, t = [], [], []
        for i in range(0, len(self.views), 64):
            out = student(standardise(resize(self.views[i:i + 64].float() / 255, size)))
            f.append(out[0]), l.append(out[1]), t.append(out[2])
        student.train(was_training)
        f, l, t = torch.cat(f), torch.cat(l), torch.cat(t)
        sst = ((self.feats - self.feats.mean(0)) ** 2).sum()
        r2 = 1 - ((f - self.feats) ** 2).sum() / sst
        kl = F.kl_div(F.log_softmax(l, 1), F.log_softmax(self.logits, 1), log_target=True, reduction="batchmean")
        r = np.corrcoef(t.numpy(), self.task.numpy())[0, 1]
        agree = float(((t > 0) == (self.task > 0)).float().mean())
        return {"feature_r2": round(float(r2), 4), "kl": round(float(kl), 4), "task_r": round(float(r), 4),
                "task_sign_agreement": round(agree, 4)}


@torch.no_grad()
def student_probe_cv(student, images_uint8: torch.Tensor, labels: np.ndarray, groups, sources,
                     sizes=(112, 224), seeds=(0, 1, 2)) -> dict[str, Any]:
    """CV AUC of a linear probe on the student's pooled features (whole photo + mirror, averaged) per size."""
    from .distill_run import standardise

    was_training = student.training
    student.eval()
    out = {}
    for size in sizes:
        feats = []
        for i in range(0, len(images_uint8), 32):
            x = standardise(whole_views(images_uint8[i:i + 32], size))
            feats.append(((student.pooled(x) + student.pooled(x.flip(3))) / 2).numpy())
        out[f"probe_{size}"] = cross_validate(np.concatenate(feats), labels, groups, sources, seeds=seeds).to_dict()
    student.train(was_training)
    return out
