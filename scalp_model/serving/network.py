"""The GoogLeNet classifier, and the one place where torchvision's outputs are unwrapped.

The rest of the code sees a :class:`ScalpNet` whose ``forward`` returns plain logits and whose
``forward_with_features`` also returns the last inception block, which is what Grad-CAM and the
out-of-scope gate need. Other architectures subclass it (:mod:`scalp_model.serving.efficientnet_lite`) and are
listed in :mod:`scalp_model.serving.architectures`.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:  # imported where a network is built: ``import torchvision`` pulls in torch._dynamo (~160 MB)
    from torchvision.models import GoogLeNet
    from torchvision.models.googlenet import GoogLeNetOutputs

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# The block whose activations ScalpNetWithMaps turns into class maps (the output of forward_features).
MAP_LAYER = "inception5b"


def unwrap_logits(output: torch.Tensor | GoogLeNetOutputs | tuple) -> torch.Tensor:
    """GoogLeNet returns a namedtuple with auxiliary logits in training mode; keep the main head."""
    if isinstance(output, torch.Tensor):
        return output
    return output[0]


class ScalpNet(nn.Module):
    """torchvision GoogLeNet with a 2-class head; aux heads are dropped (they only help training).

    The interface every architecture shares (:mod:`scalp_model.serving.architectures`): ``backbone`` (whose
    ``state_dict`` is the checkpoint's), ``head`` (the linear layer on the pooled features),
    ``forward_features``, ``classify``, ``forward_with_features``, ``forward`` and ``target_layer``.
    """

    architecture = "googlenet"  # the ModelMeta.architecture this class serves

    def __init__(self, backbone: GoogLeNet) -> None:
        super().__init__()
        self.backbone = backbone

    @property
    def head(self) -> nn.Linear:
        """The linear head on the pooled features (``fc`` in torchvision's GoogLeNet)."""
        return self.backbone.fc

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Run the trunk up to ``inception5b`` (mirrors torchvision's ``GoogLeNet._forward``)."""
        b = self.backbone
        x = b._transform_input(x)
        x = b.maxpool1(b.conv1(x))
        x = b.maxpool2(b.conv3(b.conv2(x)))
        x = b.maxpool3(b.inception3b(b.inception3a(x)))
        x = b.inception4a(x)
        x = b.inception4e(b.inception4d(b.inception4c(b.inception4b(x))))
        x = b.maxpool4(x)
        return b.inception5b(b.inception5a(x))

    def classify(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pool the last block and apply the head; returns (logits, pooled features)."""
        pooled = torch.flatten(self.backbone.avgpool(features), 1)
        return self.backbone.fc(self.backbone.dropout(pooled)), pooled

    def forward_with_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.forward_features(x)
        logits, _ = self.classify(features)
        return logits, features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_features(x)[0]

    def target_layer(self, name: str) -> nn.Module:
        """The module Grad-CAM hooks, by its name inside torchvision's GoogLeNet."""
        try:
            return self.backbone.get_submodule(name)
        except AttributeError as exc:
            raise ValueError(f"unknown Grad-CAM target layer {name!r} for GoogLeNet") from exc


def build_backbone(num_classes: int = 2, *, transform_input: bool = False, init_weights: bool = True) -> GoogLeNet:
    """A GoogLeNet without auxiliary heads and with a fresh ``num_classes`` head."""
    from torchvision.models import googlenet

    net = googlenet(weights=None, aux_logits=False, transform_input=transform_input, init_weights=init_weights)
    net.fc = nn.Linear(net.fc.in_features, num_classes)
    return net


def build_scalpnet(num_classes: int = 2, *, init: str = "scratch") -> tuple[ScalpNet, bool]:
    """Build the classifier from ImageNet weights, a local ``.pth`` or from scratch.

    Returns the network and whether ``transform_input`` is on (torchvision's ImageNet GoogLeNet expects
    it; the checkpoint records it so inference does the same).

    ``init``: ``"imagenet"`` (torchvision's ``GoogLeNet_Weights.IMAGENET1K_V1``, downloaded on first use
    where the machine is online), ``"scratch"``, or the path of a torchvision GoogLeNet state dict (such
    as torchvision's ``googlenet-1378be20.pth``). A local file is taken to expect ``transform_input``
    like torchvision's ImageNet weights unless it carries a ``__transform_input__`` entry saying otherwise.
    """
    if init == "scratch":
        return ScalpNet(build_backbone(num_classes)), False
    if init == "imagenet":
        from torchvision.models import GoogLeNet_Weights, googlenet

        # torchvision insists on aux_logits=True while loading these weights and drops the aux heads
        # afterwards when the argument was not given; passing aux_logits=False is refused.
        net = googlenet(weights=GoogLeNet_Weights.IMAGENET1K_V1)
        net.fc = nn.Linear(net.fc.in_features, num_classes)
        return ScalpNet(net), True
    path = Path(init)
    if not path.is_file():
        raise FileNotFoundError(
            f"--init {init!r}: not 'imagenet', 'scratch' or an existing .pth file with GoogLeNet weights"
        )
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    transform_input = bool(state.pop("__transform_input__", True)) if isinstance(state, dict) else True
    net = build_backbone(num_classes, transform_input=transform_input, init_weights=False)
    own = net.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape and not k.startswith("fc.")}
    if len(usable) < len(own) // 2:
        raise ValueError(f"{path} does not look like GoogLeNet weights ({len(usable)} of {len(own)} tensors match)")
    net.load_state_dict(usable, strict=False)
    return ScalpNet(net), transform_input


class ScalpNetWithMaps(nn.Module):
    """Logits, pooled features and every class's activation map from ONE forward pass.

    For the last block (GoogLeNet's ``inception5b``, EfficientNet-Lite0's ``head_activation``) followed by global
    average pooling and a linear layer, the gradient of logit c with respect to the block is the class's weight row
    spread evenly over space, so
    Grad-CAM reduces to ``relu(sum_k w_ck A_k)`` (up to the positive 1/(h·w) factor, which min-max
    scaling removes). Computing it here makes a map almost free and keeps the module exportable.
    """

    def __init__(self, net: ScalpNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        features = self.net.forward_features(x)
        logits, pooled = self.net.classify(features)
        maps = torch.einsum("kc,nchw->nkhw", self.net.head.weight, features)
        return logits, pooled, maps
