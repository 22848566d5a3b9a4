"""The PyTorch peer of bench/cuda-train.ts: transformers + PEFT, bf16 base, LoRA r16/α32 on all seven
projections, AdamW, random-initialised Qwen2.5 configuration, a fixed number of steps.

Usage (on the GPU machine, which has torch, transformers and peft):
  python3 bench/peers/peft_train.py --config bench/configs/qwen2.5-0.5b.json --batch 4 --tokens 1024 \
      --steps 6 --mode eager|checkpointing|compile
Prints one JSON line: tokens/s (median step), peak memory (torch.cuda.max_memory_allocated), the
compile time for --mode compile.
"""
import argparse
import json
import time

import peft
import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM

p = argparse.ArgumentParser()
p.add_argument("--config", required=True)
p.add_argument("--batch", type=int, default=4)
p.add_argument("--tokens", type=int, default=1024)
p.add_argument("--steps", type=int, default=6)
p.add_argument("--warmup", type=int, default=2)
p.add_argument("--mode", choices=["eager", "checkpointing", "compile"], default="eager")
args = p.parse_args()

torch.manual_seed(0)
config = AutoConfig.for_model(**json.load(open(args.config)))
with torch.device("cuda"):
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16, attn_implementation="sdpa")
lora = peft.LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, bias="none", task_type="CAUSAL_LM",
                       target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
if args.mode == "checkpointing":
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.enable_input_require_grads()
model = peft.get_peft_model(model, lora)
trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)
step_fn = model
if args.mode == "compile":
    step_fn = torch.compile(model)

ids = torch.randint(0, config.vocab_size, (args.batch, args.tokens), device="cuda")
times, losses = [], []
compile_s = None
torch.cuda.reset_peak_memory_stats()
for i in range(args.warmup + args.steps):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    loss = step_fn(input_ids=ids, labels=ids).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    losses.append(round(loss.item(), 4))
    if i == 0 and args.mode == "compile":
        compile_s = round(dt, 1)
    if i >= args.warmup:
        times.append(dt)
times.sort()
median = times[len(times) // 2]
print(json.dumps({
    "engine": f"pytorch-peft-{args.mode}",
    "device": torch.cuda.get_device_name(),
    "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__},
    "config": args.config, "batch": args.batch, "tokens": args.tokens, "steps": args.steps,
    "median_step_ms": round(median * 1e3, 1),
    "tokens_per_s": round(args.batch * args.tokens / median),
    "peak_allocated_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
    "trainable_params": trainable, "compile_s": compile_s, "losses": losses,
}))
