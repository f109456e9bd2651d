"""Peer of bench/nccl.ts, on GPU 0:
- torch.distributed's NCCL all_reduce of a host float32 tensor on a 1-rank group, with the copies posttrain's addon
  makes (pageable host -> preallocated GPU buffer, all_reduce, GPU -> the same host buffer);
- the copies alone (no NCCL), from pageable and from pinned host memory: the limit of any collective whose buffers
  live on the host.
Prints one JSON line of GB/s figures (bytes of the buffer / median seconds)."""
import json
import os
import sys
import time

import torch
import torch.distributed as dist

elements = int(sys.argv[1])
iterations = int(sys.argv[2])
bytes_ = elements * 4
os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
os.environ.setdefault("MASTER_PORT", "29517")
torch.cuda.set_device(0)
dist.init_process_group("nccl", rank=0, world_size=1)


def timed(step):
    seconds = []
    for i in range(iterations + 2):
        torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        torch.cuda.synchronize()
        if i >= 2:
            seconds.append(time.perf_counter() - start)
    seconds.sort()
    return round(bytes_ / seconds[len(seconds) // 2] / 1e9, 3)


host = torch.arange(elements, dtype=torch.float32) % 1000
expected = host.clone()
device = torch.empty(elements, dtype=torch.float32, device="cuda")


def allreduce():
    device.copy_(host)
    dist.all_reduce(device)
    host.copy_(device)


def copies(buffer):
    def step():
        device.copy_(buffer)
        buffer.copy_(device)
    return step


result = {"allreduce_gb_per_s": timed(allreduce)}
assert torch.equal(host, expected)
result["pageable_copy_gb_per_s"] = timed(copies(host))
result["pinned_copy_gb_per_s"] = timed(copies(host.pin_memory()))
result.update({"torch": torch.__version__, "nccl": ".".join(map(str, torch.cuda.nccl.version())), "device": torch.cuda.get_device_name(0)})
print(json.dumps(result))
dist.destroy_process_group()
