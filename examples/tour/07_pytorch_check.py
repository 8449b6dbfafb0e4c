# Chapter 7, the other way round: a ddpm-ts weights file loads into a PyTorch UNet with
# load_state_dict(strict=True) and computes the same function. The UNet is examples/torch's
# (ddpm_torch/model.py, the one train_ddp.py trains); nothing here is needed to use ddpm-ts.
#
#   node examples/tour/07-export-for-pytorch.js /tmp/for-torch.safetensors
#   python3 examples/tour/07_pytorch_check.py /tmp/for-torch.safetensors
#
# Needs PyTorch (Debian: apt-get install python3-torch).

import json, os, sys
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "torch"))
from ddpm_torch.model import UNet  # noqa: E402
from ddpm_torch.safetensors import load as load_safetensors  # noqa: E402


tensors, metadata = load_safetensors(sys.argv[1])
config = json.loads(metadata["config"])
weights = {k: v for k, v in tensors.items() if not k.startswith("check.")}
model = UNet(**config["model"])
model.load_state_dict(weights, strict=True)
model.eval()
with torch.no_grad():
    out = model(tensors["check.x"], tensors["check.t"])
ref = tensors["check.out"]
print(f"loaded {len(weights)} tensors with strict=True")
print(f"PyTorch {torch.__version__} vs ddpm-ts, UNet output: max relative error {((out - ref).abs().max() / ref.abs().max()).item():.2e}")
