"""The naive reference: what a typical repository does with the same weights."""
from __future__ import annotations

import copy
import io

import numpy as np
import torch
from PIL import Image

from ..serving.predictor import Predictor


class NaiveReference:
    """Plain torchvision GoogLeNet, fp32, eager, contiguous; full PIL decode; no map."""

    def __init__(self, predictor: Predictor) -> None:
        self.meta = predictor.meta
        self.model = copy.deepcopy(predictor.checkpoint.model.backbone).cpu().eval()
        self.mean = torch.tensor(self.meta.mean).view(3, 1, 1)
        self.std = torch.tensor(self.meta.std).view(3, 1, 1)

    def tensor(self, data: bytes) -> torch.Tensor:
        img = Image.open(io.BytesIO(data)).convert("RGB").resize((224, 224), Image.Resampling.BILINEAR)
        x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)
        return ((x - self.mean) / self.std).unsqueeze(0)

    def forward(self, x: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            logits = self.model(x)
        return torch.softmax(logits / self.meta.temperature, 1)[:, self.meta.positive_index].numpy()

    def predict_bytes(self, data: bytes) -> float:
        return float(self.forward(self.tensor(data))[0])
