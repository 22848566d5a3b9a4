import type { Recompute } from "../engine/cuda/decoder-trainer.js";
import type { LoraWeights } from "./export-peft.js";
import type { ChatTemplateFn, TokenizeFn } from "./tokenize.js";
import type { TrainableModel } from "./trainer.js";

/** What `agenttune train` asks of a model engine. */
export interface TrainEngineRequest {
  model: string;
  backend: "cpu" | "cuda";
  /** The GPU (cuda): a data-parallel rank's own; default 0. */
  deviceOrdinal?: number;
  /** neftuneAlpha: NEFTune's noise on the input embeddings while training (src/engine/neftune.ts); absent = off. */
  lora: { rank: number; alpha: number; dropout: number; targets: string[]; seed: number; neftuneAlpha?: number };
  /** What the forward pass keeps for the backward (cuda; see `Recompute` of the CUDA trainer). Default "off". */
  recompute?: Recompute;
}

/** A base model opened for LoRA training, with its tokenizer and chat template. */
export interface LoadedTrainModel {
  model: TrainableModel;
  tokenize: TokenizeFn;
  template: ChatTemplateFn;
  padId?: number;
  /** The current LoRA weights, PEFT-named, for export. */
  adapter(): LoraWeights;
  close?(): void;
}

/** Opens a base model for training. */
export type TrainEngineLoader = (request: TrainEngineRequest) => Promise<LoadedTrainModel>;
