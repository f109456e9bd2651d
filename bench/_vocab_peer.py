"""PyTorch peer of bench/vocab-ops.ts: the per-token work over a large vocabulary at real shapes. Prints one JSON
line of milliseconds (medians of `--reps` runs after one warm-up)."""
import json

import torch

from _torch_peer import median_seconds, parse_args


def shape_flags(parser):
    for flag in ("--batch", "--length", "--vocab"):
        parser.add_argument(flag, type=int, required=True)


args = parse_args(__doc__, shape_flags)


def ms(run):
    return round(median_seconds(run, args.reps) * 1000, 2)


B, T, V = args.batch, args.length, args.vocab
logits = torch.randn(B, T, V)
targets = torch.randint(V, (B, T))
step_logits = torch.randn(B, V)


def gather_forward():
    with torch.no_grad():
        torch.log_softmax(logits, -1).gather(-1, targets.unsqueeze(-1))


def gather_backward():
    x = logits.clone().requires_grad_(True)
    torch.log_softmax(x, -1).gather(-1, targets.unsqueeze(-1)).sum().backward()


def sample_step():
    with torch.no_grad():
        probs = torch.softmax(step_logits, -1)
        token = torch.multinomial(probs, 1)
        torch.log_softmax(step_logits, -1).gather(-1, token)


def sample_step_top_k():
    with torch.no_grad():
        values, indices = torch.topk(step_logits, 50, -1)
        token = indices.gather(-1, torch.multinomial(torch.softmax(values, -1), 1))
        torch.log_softmax(step_logits, -1).gather(-1, token)


print(json.dumps({
    "torch": torch.__version__,
    "log_softmax_gather_ms": ms(gather_forward),
    "log_softmax_gather_with_gradient_ms": ms(gather_backward),
    "sample_step_ms": ms(sample_step),
    "sample_step_top_k_50_ms": ms(sample_step_top_k),
}))
