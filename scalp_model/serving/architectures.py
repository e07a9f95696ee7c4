"""The networks a checkpoint may name in ``ModelMeta.architecture``, and what serving needs of each.

One entry per architecture: how to build the untrained network a checkpoint's state dict is loaded into, the
layer whose Grad-CAM map is served from the forward pass (the last block, followed by global average pooling and
the linear head, so the map has a closed form: :class:`~scalp_model.serving.network.ScalpNetWithMaps`), the width
of the pooled features the out-of-scope gate reads, the input standardisation its ImageNet weights expect, and the
ONNX node of its head (kept fp32 by int8). GoogLeNet (the paper's) is the default.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import WeightsMismatchError
from .efficientnet_lite import LITE_FEATURE_DIM, LITE_MAP_LAYER, LITE_MEAN, LITE_STD
from .network import IMAGENET_MEAN, IMAGENET_STD, MAP_LAYER, ScalpNet

DEFAULT_ARCHITECTURE = "googlenet"


@dataclass(frozen=True)
class Architecture:
    """What the code needs to know of one network.

    - ``name``: the value of ``ModelMeta.architecture``; ``label``: a short human name ("GoogLeNet");
      ``description``: the card's architecture line ("torchvision GoogLeNet").
    - ``build(num_classes, transform_input)``: the untrained :class:`ScalpNet` a state dict is loaded into.
    - ``map_layer``: the layer of the one-pass Grad-CAM (``ModelMeta.cam_target_layer``); ``feature_dim``: the
      width of the pooled features (the out-of-scope gate's input).
    - ``mean``/``std``: RGB standardisation on the 0..1 scale that its ImageNet weights expect.
    - ``head_nodes``: ONNX node names of the linear head in the exported graph.
    """

    name: str
    label: str
    description: str
    build: Callable[[int, bool], ScalpNet]
    map_layer: str
    feature_dim: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    head_nodes: tuple[str, ...]


def _googlenet(num_classes: int, transform_input: bool) -> ScalpNet:
    from .network import build_backbone

    return ScalpNet(build_backbone(num_classes, transform_input=transform_input, init_weights=False))


def _lite0(num_classes: int, transform_input: bool) -> ScalpNet:
    from .efficientnet_lite import build_lite0

    return build_lite0(num_classes, transform_input=transform_input)


ARCHITECTURES: dict[str, Architecture] = {
    "googlenet": Architecture("googlenet", "GoogLeNet", "torchvision GoogLeNet", _googlenet, MAP_LAYER, 1024,
                              IMAGENET_MEAN, IMAGENET_STD, ("/fc/Gemm",)),
    "efficientnet_lite0": Architecture(
        "efficientnet_lite0", "EfficientNet-Lite0",
        "EfficientNet-Lite0 (efficientnet-lite-pytorch, TensorFlow's ImageNet weights converted)", _lite0,
        LITE_MAP_LAYER, LITE_FEATURE_DIM, LITE_MEAN, LITE_STD, ("/_fc/Gemm",)),
}


def get_architecture(name: str) -> Architecture:
    """The entry for ``name``; raises ``WeightsMismatchError`` naming the known architectures otherwise."""
    try:
        return ARCHITECTURES[name]
    except (KeyError, TypeError):
        raise WeightsMismatchError(f"unknown architecture {name!r}: ScalpScope serves "
                                   f"{' or '.join(ARCHITECTURES)}") from None


def architecture_of(model: ScalpNet) -> Architecture:
    """The entry of a built network (its class's ``architecture`` attribute)."""
    return get_architecture(getattr(model, "architecture", DEFAULT_ARCHITECTURE))
