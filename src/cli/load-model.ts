import type { ChatModel } from "../agent/chat-model.js";
import type { ModelRequest } from "../infer/resolve.js";

export type { ModelRequest };

/** The engines a command's --engine takes. */
export const ENGINE_NAMES = ["llama", "openai", "own"];

/**
 * Opens the model the flags of run, eval, serve and demo name. The engines load lazily: the
 * command starts without node-llama-cpp or the model engine, and a run loads only the one it uses.
 */
export async function loadModelLazily(request: ModelRequest): Promise<ChatModel> {
  const { resolveModel } = await import("../infer/resolve.js");
  return resolveModel(request);
}
