"""PyTorch peer of bench/matmul.ts: float32 products at the given shapes on `--threads` threads (OpenBLAS under
Debian's python3-torch). Prints one JSON line: per shape, forward (A @ B) and backward (dY @ B^T and A^T @ dY,
transposes as views) GFLOP/s, medians of `--reps` timed runs after one warm-up."""
import json

import torch

from _torch_peer import median_seconds, parse_args

args = parse_args(__doc__, lambda parser: parser.add_argument("--shapes", required=True, help="comma-separated MxKxN"))


def rate(flops, run):
    return flops / median_seconds(run, args.reps) / 1e9


results = []
for shape in args.shapes.split(","):
    m, k, n = (int(part) for part in shape.split("x"))
    a, b, dy = torch.randn(m, k), torch.randn(k, n), torch.randn(m, n)
    forward = rate(2 * m * k * n, lambda: torch.mm(a, b))
    backward = rate(4 * m * k * n, lambda: (torch.mm(dy, b.t()), torch.mm(a.t(), dy)))
    results.append({"shape": shape, "forward_gflops": round(forward, 1), "backward_gflops": round(backward, 1)})
with open("/proc/self/maps") as maps:
    libraries = sorted({line.split()[-1].rsplit("/", 1)[-1] for line in maps if "blas" in line.lower()})
print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "blas_libraries": libraries, "results": results}))
