"""The Hugging Face peer of bench/decode-gpu.ts: `generate` on the GPU, bf16, batch 1, greedy,
a random-initialised model of the given configuration, a fixed number of new tokens.

Usage (on the GPU machine): python3 bench/peers/hf_generate.py --config bench/configs/smollm2-135m.json --prompt 42 --new 64
Prints one JSON line: prefill and decode tokens/s (decode: the new tokens after the first, over their time).
"""
import argparse
import json
import time

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM

p = argparse.ArgumentParser()
p.add_argument("--config", required=True)
p.add_argument("--prompt", type=int, default=42)
p.add_argument("--new", type=int, default=64)
p.add_argument("--reps", type=int, default=3)
args = p.parse_args()

torch.manual_seed(0)
config = AutoConfig.for_model(**json.load(open(args.config)))
with torch.device("cuda"):
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16).eval()
ids = torch.randint(3, config.vocab_size, (1, args.prompt), device="cuda")


def timed(n_new):
    torch.cuda.synchronize()
    t = time.perf_counter()
    with torch.no_grad():
        model.generate(ids, max_new_tokens=n_new, min_new_tokens=n_new, do_sample=False, pad_token_id=0)
    torch.cuda.synchronize()
    return time.perf_counter() - t


timed(4)  # warm-up
best_full, best_first = float("inf"), float("inf")
for _ in range(args.reps):
    best_first = min(best_first, timed(1))
    best_full = min(best_full, timed(args.new))
decode_s = best_full - best_first
print(json.dumps({
    "peer": "transformers.generate", "torch": torch.__version__, "transformers": transformers.__version__,
    "device": torch.cuda.get_device_name(0), "prompt": args.prompt, "new_tokens": args.new,
    "prefill_tokens_per_s": args.prompt / best_first, "decode_tokens_per_s": (args.new - 1) / decode_s,
}))
