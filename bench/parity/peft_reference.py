"""Reference for bench/parity/cuda-peft-parity.ts: loads the tiny model, LoRA matrices and batch
that our side wrote, computes the loss and the LoRA gradients with transformers + PEFT in float32,
and writes them back as safetensors.

Usage: python3 bench/parity/peft_reference.py FAMILY IN.safetensors OUT.safetensors
"""
import json
import sys

import peft
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModelForCausalLM

family, src, dst = sys.argv[1:4]
cfg_json = json.load(open("bench/parity/tiny-configs.json"))[family]
config = AutoConfig.for_model(**cfg_json)
tensors = load_file(src)
model = AutoModelForCausalLM.from_config(config, dtype=torch.float32, attn_implementation="eager")
base = {k: v for k, v in tensors.items() if not k.startswith("base_model.") and not k.startswith("batch.")}
missing, unexpected = model.load_state_dict(base, strict=False)
missing = [m for m in missing if not (config.tie_word_embeddings and m == "lm_head.weight")]
assert not missing and not unexpected, (missing, unexpected)
lora = peft.LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, bias="none", task_type="CAUSAL_LM",
                       target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
model = peft.get_peft_model(model, lora)
named = dict(model.named_parameters())
for k, v in tensors.items():
    if k.startswith("base_model."):
        name = k.replace(".weight", ".default.weight")
        with torch.no_grad():
            named[name].copy_(v)
ids = tensors["batch.ids"].long()
out = model(input_ids=ids, labels=ids)
out.loss.backward()
grads = {"loss": out.loss.detach().reshape(1)}
for k in tensors:
    if k.startswith("base_model."):
        grads[k] = named[k.replace(".weight", ".default.weight")].grad.contiguous()
save_file(grads, dst)
print(json.dumps({"family": family, "loss": out.loss.item()}))
