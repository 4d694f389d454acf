"""The MFU denominator of bench/gpu-speed-call.sh: an N^3 bf16 matrix product (N = 8192) timed with
PyTorch on the GPU, in the same call as `tats bench` and the reference harness.
About 1 s of products first (clocks, cuBLAS heuristics), then REPS timings of ITERS back-to-back
products each (CUDA events); prints one JSON line with the median and the best TFLOP/s.
Usage: python3 bench/matmul_peak.py [N] [REPS] [ITERS]"""
import json
import sys
import time

import torch

n = int(sys.argv[1]) if len(sys.argv) > 1 else 8192
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 9
iters = int(sys.argv[3]) if len(sys.argv) > 3 else 20
if not torch.cuda.is_available():
    sys.exit("matmul_peak.py: no CUDA device")
dev = "cuda"
torch.manual_seed(0)
a = torch.randn(n, n, device=dev, dtype=torch.bfloat16)
b = torch.randn(n, n, device=dev, dtype=torch.bfloat16)
c = torch.empty(n, n, device=dev, dtype=torch.bfloat16)

t_end = time.time() + 1.0
while time.time() < t_end:
    for _ in range(10):
        torch.matmul(a, b, out=c)
    torch.cuda.synchronize()

ms = []
for _ in range(reps):
    s = torch.cuda.Event(enable_timing=True)
    e = torch.cuda.Event(enable_timing=True)
    s.record()
    for _ in range(iters):
        torch.matmul(a, b, out=c)
    e.record()
    torch.cuda.synchronize()
    ms.append(s.elapsed_time(e) / iters)
ms.sort()
med = ms[len(ms) // 2]
flop = 2 * n ** 3
print(json.dumps(dict(size=n, dtype="bf16", reps=reps, iters=iters, ms=round(med, 4), ms_min=round(ms[0], 4),
                      tflops=round(flop / med / 1e9, 1), tflops_best=round(flop / ms[0] / 1e9, 1),
                      torch=torch.__version__, device=torch.cuda.get_device_name(0))))
