/**
 * AgentTune's library API. Everything the CLI does is a call exported from here.
 */
export * from "./errors.js";
export type { JsonSchema, JsonValue, ToolCall, ToolContext, ToolDefinition } from "./tools/types.js";
export type { FailureKind, ReActStep, Trajectory } from "./react/types.js";
export { FAILURE_KINDS } from "./react/types.js";
export type { ChatMessage, ChatModel, GenerateOptions, GenerateResult } from "./agent/chat-model.js";
export type { Task, TrainingExample } from "./data/task.js";
