/**
 * The one interface the agent runtime talks to. Our engine, node-llama-cpp, any
 * OpenAI-compatible server and the scripted test model each implement it.
 */

/** A chat message. The ReAct mapping (see src/react/messages.ts) only uses these four roles. */
export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
  /**
   * Training only, on an assistant message (the axolotl/ShareGPT convention): 0 keeps the reply
   * in the context but puts no loss on its tokens (a recovery trajectory's mistaken call); absent
   * or 1 trains on it. Chat templates render the message the same either way.
   */
  weight?: 0 | 1;
}

export interface GenerateOptions {
  /** Generation stops before any of these strings; the stop string is not part of the text. */
  stop?: string[];
  maxTokens?: number;
  /** 0 means greedy. */
  temperature?: number;
  topP?: number;
  seed?: number;
  signal?: AbortSignal;
}

export interface GenerateResult {
  text: string;
  /** Why generation ended. */
  finishReason: "stop" | "length" | "abort";
  usage?: { promptTokens: number; completionTokens: number };
}

export interface ChatModel {
  /** A human-readable id (a model path, a server model name, …) for logs and reports. */
  readonly id: string;
  generate(messages: ChatMessage[], options?: GenerateOptions): Promise<GenerateResult>;
  /** Streams text pieces as they are generated; the concatenation equals `generate`'s text. */
  stream(messages: ChatMessage[], options?: GenerateOptions): AsyncIterable<string>;
  /** Frees native resources, if any. */
  dispose?(): Promise<void>;
}
