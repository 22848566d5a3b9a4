// A model's chat template (Jinja, as in tokenizer_config.json or `tokenizer.chat_template`),
// rendered with @huggingface/jinja — the implementation made for Hugging Face chat templates —
// with the variables transformers' apply_chat_template passes (messages, tools,
// add_generation_prompt, the special tokens). Errors come back as one typed error that says
// whether the template is malformed, raised an exception itself, or failed while rendering.
// One difference from Python that no template setting can undo: JavaScript has one number type,
// so a float with no fraction (18.0 in a tool result) renders as "18".

import { Template } from "@huggingface/jinja";
import { AgentTuneError } from "../errors.js";
import type { ChatMessage } from "../agent/chat-model.js";
import { type ChatTemplateFn, type TemplateSegment, trainsOn } from "../train/tokenize.js";

/**
 * ChatML, the prompt format for models that carry no chat template (a base model's GGUF, a folder
 * without one); training falls back to the same text (`chatmlTemplate`), so a model fine-tuned
 * that way is prompted as it was trained. Both inference engines use this one string.
 */
export const CHATML_TEMPLATE =
  "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

/** ChatML's end of a turn. */
export const CHATML_TURN_END = "<|im_end|>";

/**
 * The stop strings of one reply. With the ChatML fallback the end of the turn is plain text to a
 * model whose vocabulary has no such token (Gemma's base model writes `<|im_end|>` as pieces
 * once fine-tuned), so no end-of-sequence id would stop the reply there: the text itself must.
 */
export function replyStops(stop: readonly string[] | undefined, chatmlFallback: boolean): string[] {
  const out = (stop ?? []).filter((s) => s !== "");
  if (chatmlFallback && !out.includes(CHATML_TURN_END)) out.push(CHATML_TURN_END);
  return out;
}

/** A message as a chat template sees it: role and content; other fields of the object (tool_calls, …) are passed too. */
export interface TemplateMessage {
  role: string;
  content: string;
}

/** The variables of one rendering (transformers' names, so templates read them unchanged). */
export interface ChatTemplateContext {
  messages: readonly TemplateMessage[];
  /** Tool definitions (OpenAI style `{type: "function", function: {...}}`), for templates that list them. */
  tools?: readonly unknown[];
  /** End with the header of an assistant turn, for generation. Default false. */
  add_generation_prompt?: boolean;
  bos_token?: string;
  eos_token?: string;
  [variable: string]: unknown;
}

/** What went wrong: the template does not parse, it called raise_exception(), or it failed while rendering. */
export type ChatTemplateErrorKind = "syntax" | "raised" | "render" | "not-incremental";

/** A chat template could not be used; `templateMessage` is the template's own message. */
export class ChatTemplateError extends AgentTuneError {
  readonly kind: ChatTemplateErrorKind;
  readonly templateMessage: string;
  constructor(kind: ChatTemplateErrorKind, templateMessage: string, options: { hint?: string; cause?: unknown } = {}) {
    const what = {
      syntax: "the chat template does not parse",
      raised: "the chat template refused the messages",
      render: "the chat template failed while rendering",
      "not-incremental": "the chat template cannot be split into messages",
    }[kind];
    super(`${what}: ${templateMessage}`, {
      hint:
        options.hint ??
        (kind === "raised"
          ? "the messages break a rule of this model's template (often: roles must alternate user/assistant, or no system role); change the messages or the template"
          : "check the template text (tokenizer_config.json chat_template, chat_template.jinja or the GGUF's tokenizer.chat_template)"),
      cause: options.cause,
    });
    this.kind = kind;
    this.templateMessage = templateMessage;
  }
}

/** Thrown by the template's raise_exception() so it can be told apart from other failures. */
class TemplateRaised extends Error {}
// @huggingface/jinja defines raise_exception itself (throwing a plain Error) and refuses a
// variable of that name, so calls in the template are renamed to a function of ours.
const RAISE = "agenttune_raise_exception";

const compiled = new Map<string, Template>();
const MAX_COMPILED = 16;

function compile(template: string): Template {
  const hit = compiled.get(template);
  if (hit) return hit;
  let t: Template;
  try {
    t = new Template(template.replace(/\braise_exception\b/g, RAISE));
  } catch (error) {
    throw new ChatTemplateError("syntax", error instanceof Error ? error.message : String(error), { cause: error });
  }
  if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value as string);
  compiled.set(template, t);
  return t;
}

/**
 * Renders a chat template as transformers' `apply_chat_template(..., tokenize=False)` does.
 * Throws ChatTemplateError (kind "syntax", "raised" or "render").
 */
export function renderChatTemplate(template: string, context: ChatTemplateContext): string {
  const t = compile(template);
  try {
    return t.render({
      add_generation_prompt: false,
      ...context,
      [RAISE]: (message: unknown) => {
        throw new TemplateRaised(String(message));
      },
    });
  } catch (error) {
    if (error instanceof TemplateRaised) throw new ChatTemplateError("raised", error.message, { cause: error });
    throw new ChatTemplateError("render", error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/** Where one assistant message's content lies in the rendered text (UTF-16 offsets). */
export interface AssistantSpan {
  /** Index of the message in `messages`. */
  message: number;
  /** First character of the content. */
  start: number;
  /** After the content (the template may trim it; the span covers what was rendered). */
  end: number;
  /** After the end-of-turn marker right after the content (`<|im_end|>`), or `end` when there is none. */
  turnEnd: number;
}

/** A rendering with the spans the training loss falls on. */
export interface RenderedChat {
  text: string;
  /** One per assistant message, in order. */
  assistant: AssistantSpan[];
  /** `messageEnds[i]`: where message i's rendering ends (the text of messages 0..i is text.slice(0, messageEnds[i])). */
  messageEnds: number[];
}

/** Options of `renderWithAssistantSpans`. */
export interface AssistantSpanOptions {
  /** Markers that close a turn and belong to it (trained on). Default: `[context.eos_token]` when given. */
  endOfTurn?: readonly string[];
}

// Stands in for a message's content to find where the template puts it; letters only, so
// filters such as trim leave it intact.
const SENTINEL = "AgentTuneContentSentinel7f3a9c";

/**
 * Renders the conversation and finds each assistant message's content in the text — for the
 * training loss mask (loss only on assistant text).
 *
 * How: the messages are rendered prefix by prefix (messages[0..i], no generation prompt); each
 * rendering must begin with the previous one, so message i's text is the difference. Inside it,
 * message i is rendered once more with its content replaced by a sentinel; the text before the
 * sentinel is the turn's header, and the content (or its trimmed form, for templates that trim)
 * must follow it. Templates that rewrite earlier turns when a later one arrives (dropping past
 * reasoning, say) cannot be split this way: ChatTemplateError "not-incremental".
 */
export function renderWithAssistantSpans(template: string, context: ChatTemplateContext, options: AssistantSpanOptions = {}): RenderedChat {
  const messages = context.messages;
  const text = renderChatTemplate(template, context);
  const endOfTurn = options.endOfTurn ?? (typeof context.eos_token === "string" && context.eos_token !== "" ? [context.eos_token] : []);
  const assistant: AssistantSpan[] = [];
  const messageEnds: number[] = [];
  let previous = "";
  for (let i = 0; i < messages.length; i++) {
    const prefix = messages.slice(0, i + 1);
    const rendered = renderChatTemplate(template, { ...context, messages: prefix, add_generation_prompt: false });
    if (!rendered.startsWith(previous) || !text.startsWith(rendered))
      throw new ChatTemplateError(
        "not-incremental",
        `rendering messages 0..${i} does not extend the rendering of messages 0..${i - 1} (the template changes earlier turns)`,
        { hint: "render the whole conversation and mask by hand, or use a template whose turns render independently" },
      );
    messageEnds.push(rendered.length);
    const message = messages[i] as TemplateMessage;
    if (message.role === "assistant") {
      const withSentinel = renderChatTemplate(template, { ...context, messages: [...prefix.slice(0, i), { ...message, content: SENTINEL }], add_generation_prompt: false });
      const at = withSentinel.indexOf(SENTINEL, previous.length);
      const header = withSentinel.slice(previous.length, at);
      const start = previous.length + header.length;
      const found = at < 0 || !rendered.startsWith(header, previous.length) ? undefined : [message.content, message.content.trim()].find((c) => rendered.startsWith(c, start));
      if (found === undefined)
        throw new ChatTemplateError("not-incremental", `the content of message ${i} (assistant) does not appear as given in its rendering (the template rewrites it)`, {
          hint: "render the whole conversation and mask by hand, or use a template that writes assistant content as given",
        });
      const end = start + found.length;
      const marker = endOfTurn.find((m) => rendered.startsWith(m, end));
      assistant.push({ message: i, start, end, turnEnd: end + (marker?.length ?? 0) });
    }
    previous = rendered;
  }
  return { text, assistant, messageEnds };
}

/** Options of `jinjaTemplateFn`. */
export interface JinjaTemplateOptions extends AssistantSpanOptions {
  /** Variables beside the messages: bos_token, eos_token, tools, … */
  variables?: Omit<ChatTemplateContext, "messages">;
}

/**
 * A model's Jinja chat template as the trainer's ChatTemplateFn: segments in order, the
 * assistant contents and their end-of-turn markers marked `train` (not those of a message with
 * `weight: 0`; the template gets only its role and content, so the text is as at inference),
 * everything else context. Tool messages are passed with their role unchanged (map them to user "Observation: …"
 * messages first for the ReAct format).
 */
export function jinjaTemplateFn(template: string, options: JinjaTemplateOptions = {}): ChatTemplateFn {
  return (given) => {
    const messages = given.map((m) => (m.weight === undefined ? m : { role: m.role, content: m.content }));
    const r = renderWithAssistantSpans(template, { ...options.variables, messages, add_generation_prompt: false }, options);
    const segments: TemplateSegment[] = [];
    let pos = 0;
    const push = (end: number, train: boolean, message: number) => {
      if (end > pos) segments.push({ text: r.text.slice(pos, end), train, message });
      pos = Math.max(pos, end);
    };
    let span = 0;
    r.messageEnds.forEach((messageEnd, i) => {
      const a = r.assistant[span];
      if (a?.message === i) {
        push(a.start, false, i);
        push(a.turnEnd, trainsOn(given[i] as ChatMessage), i);
        span++;
      }
      push(messageEnd, false, i);
    });
    push(r.text.length, false, -1);
    return segments;
  };
}
