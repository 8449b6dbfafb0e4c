"""PyTorch on CUDA, the reference row of bench/device.sh: UNet-S (test/fixtures/unet-s.safetensors,
the same weights as npm run bench) at batch 16, 32x32: the forward pass and a training step
(forward, MSE loss, backward, Adam), median seconds of REPS after two warm-up steps, each timed
with torch.cuda.synchronize. Prints one JSON line; without CUDA it says so and prints
{"torch": null} (a CPU row would say nothing about the GPU).

    python3 bench/torch_unet.py [REPS]
"""
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'examples', 'torch'))

import torch  # noqa: E402
from ddpm_torch import safetensors  # noqa: E402
from ddpm_torch.model import UNet  # noqa: E402


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    if not torch.cuda.is_available():
        print('PyTorch: no CUDA device here, no reference row', file=sys.stderr)
        print(json.dumps({'torch': None}))
        return
    device = torch.device('cuda')
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
    tensors, metadata = safetensors.load(os.path.join(root, 'test', 'fixtures', 'unet-s.safetensors'))
    config = json.loads(metadata['config'])
    net = UNet(**config).to(device)
    net.load_state_dict({k: v for k, v in tensors.items()}, strict=True)
    gen = torch.Generator(device='cpu').manual_seed(1)
    x = torch.randn(16, config['inChannels'], config['imageSize'], config['imageSize'], generator=gen).to(device)
    noise = torch.randn(x.shape, generator=gen).to(device)
    t = torch.randint(0, 1000, (16,), generator=gen).to(device)
    adam = torch.optim.Adam(net.parameters(), lr=1e-4)

    def forward():
        with torch.no_grad():
            net(x, t)

    def train():
        loss = torch.nn.functional.mse_loss(net(x, t), noise)
        adam.zero_grad()
        loss.backward()
        adam.step()

    def timed(step):
        for _ in range(2):
            step()
        torch.cuda.synchronize()
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            step()
            torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    print(json.dumps({'torch': {'version': torch.__version__, 'device': torch.cuda.get_device_name(0), 'forward': timed(forward), 'train': timed(train)}}))


if __name__ == '__main__':
    main()
