"""What the PyTorch peers in bench/ share (bench/_matmul_peer.py, bench/_vocab_peer.py): the `--threads` and
`--reps` flags, torch's thread count and seed, and the timing rule (one warm-up run, then the median of `--reps`
timed runs)."""
import argparse
import statistics
import time

import torch


def parse_args(description, add_arguments=lambda parser: None):
    """Parses --threads (required), --reps (default 5) and the peer's own flags; sets torch's threads and seed 0."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--reps", type=int, default=5)
    add_arguments(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    return args


def median_seconds(run, reps):
    """Median wall-clock seconds of `reps` calls of `run` after one warm-up call."""
    run()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
