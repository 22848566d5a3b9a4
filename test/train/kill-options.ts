import type { ChatMessage } from "../../src/agent/chat-model.js";
import { chatmlTemplate, tokenizeDataset } from "../../src/train/tokenize.js";
import { byteTokenize } from "./fake-model.js";

/** The training setup shared by the killed child run and the uninterrupted one. */
export function trainOptions() {
  const conversations: ChatMessage[][] = Array.from({ length: 8 }, (_, i) => [
    { role: "user", content: `q${i}` },
    { role: "assistant", content: `Answer: ${"ab".repeat(i + 1)}` },
  ]);
  const { examples } = tokenizeDataset(conversations, { tokenize: byteTokenize, template: chatmlTemplate });
  return { modelId: "fake", examples, epochs: 3, batchSize: 2, gradAccum: 1, lr: 0.05, warmupRatio: 0.1, seed: 7 };
}
