import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { ChatMessage } from "../../src/agent/chat-model.js";
import {
  CHATML_TEMPLATE,
  CHATML_TURN_END,
  ChatTemplateError,
  jinjaTemplateFn,
  renderChatTemplate,
  renderWithAssistantSpans,
  replyStops,
  type TemplateMessage,
} from "../../src/model/chat-template.js";
import { openGguf } from "../../src/model/gguf.js";
import { tokenizerFromGguf } from "../../src/model/tokenizer.js";
import { chatmlTemplate } from "../../src/train/tokenize.js";
import { SKIP_NO_SMOLLM2, SMOLLM2_GGUF } from "../helpers/real-models.js";

// Renderings by transformers (apply_chat_template / render_jinja_template), made by
// scripts/fixtures/tokenizer.py: SmolLM2's own template (from its GGUF) and two model-style
// templates written there (Gemma-style with raise_exception and trim, Qwen-style with tools).

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "tokenizer");
const smollm2 = JSON.parse(readFileSync(join(FIXTURES, "smollm2.json"), "utf8")).chat as {
  template: string;
  conversations: Record<string, TemplateMessage[]>;
  tools: unknown[];
  renderings: { conversation: string; addGenerationPrompt: boolean; withTools: boolean; text: string }[];
};
const styles = JSON.parse(readFileSync(join(FIXTURES, "chat-templates.json"), "utf8")) as {
  templates: Record<string, string>;
  conversations: Record<string, TemplateMessage[]>;
  tools: unknown[];
  variables: { bos_token: string; eos_token: string };
  cases: { template: string; conversation: string; addGenerationPrompt: boolean; withTools: boolean; text?: string; error?: string }[];
};
const SMOLLM2_TOKENS = { bos_token: "<|im_start|>", eos_token: "<|im_end|>" };

describe("the ChatML fallback", () => {
  test("prompts as training renders the same conversation", () => {
    const messages: ChatMessage[] = [
      { role: "system", content: "sys" },
      { role: "user", content: "q" },
      { role: "assistant", content: "Answer: a" },
    ];
    const prompt = renderChatTemplate(CHATML_TEMPLATE, { messages, add_generation_prompt: false });
    assert.equal(prompt, chatmlTemplate(messages).map((s) => s.text).join(""));
  });

  test("a reply stops at ChatML's end of turn only when the prompt is the fallback", () => {
    assert.deepEqual(replyStops(["\nObservation:"], true), ["\nObservation:", CHATML_TURN_END]);
    assert.deepEqual(replyStops(["\nObservation:", ""], false), ["\nObservation:"]);
    assert.deepEqual(replyStops(undefined, true), [CHATML_TURN_END]);
    assert.deepEqual(replyStops([CHATML_TURN_END], true), [CHATML_TURN_END]);
  });
});

describe("SmolLM2's chat template", () => {
  test("renders the ReAct mapping exactly as transformers does, with and without the generation prompt", () => {
    assert.ok(smollm2.renderings.some((r) => r.addGenerationPrompt) && smollm2.renderings.some((r) => !r.addGenerationPrompt));
    for (const r of smollm2.renderings) {
      const text = renderChatTemplate(smollm2.template, {
        ...SMOLLM2_TOKENS,
        messages: smollm2.conversations[r.conversation] as TemplateMessage[],
        tools: r.withTools ? smollm2.tools : undefined,
        add_generation_prompt: r.addGenerationPrompt,
      });
      assert.equal(text, r.text, `${r.conversation} (generation prompt: ${r.addGenerationPrompt}, tools: ${r.withTools})`);
    }
  });

  test("the template in the fixture is the one in the GGUF", { skip: SKIP_NO_SMOLLM2 }, () => {
    const file = openGguf(SMOLLM2_GGUF as string);
    const tok = tokenizerFromGguf(file.metadata);
    file.close();
    assert.equal(tok.chatTemplate, smollm2.template);
  });

  test("the assistant spans cover exactly each reply and its <|im_end|>", () => {
    const messages = smollm2.conversations.react as TemplateMessage[];
    const r = renderWithAssistantSpans(smollm2.template, { ...SMOLLM2_TOKENS, messages });
    assert.equal(r.text, smollm2.renderings.find((x) => x.conversation === "react" && !x.addGenerationPrompt && !x.withTools)?.text);
    assert.deepEqual(
      r.assistant.map((a) => a.message),
      [2, 4],
    );
    for (const a of r.assistant) {
      assert.equal(r.text.slice(a.start, a.end), (messages[a.message] as TemplateMessage).content);
      assert.equal(r.text.slice(a.end, a.turnEnd), "<|im_end|>");
    }
    assert.equal(r.messageEnds.at(-1), r.text.length);
  });

  test("as the trainer's ChatTemplateFn: segments concatenate to the rendering and train only on replies", () => {
    const messages: ChatMessage[] = [
      { role: "user", content: "Hi  there\n\twith  spaces " },
      { role: "assistant", content: "  Hello! 😀\n" },
    ];
    const segments = jinjaTemplateFn(smollm2.template, { variables: SMOLLM2_TOKENS })(messages);
    assert.equal(segments.map((s) => s.text).join(""), renderChatTemplate(smollm2.template, { ...SMOLLM2_TOKENS, messages }));
    assert.deepEqual(
      segments.filter((s) => s.train),
      [{ text: "  Hello! 😀\n<|im_end|>", train: true, message: 1 }],
    );
  });

  test("an assistant message with weight 0 renders the same text, none of it trained", () => {
    const messages: ChatMessage[] = [
      { role: "user", content: "q" },
      { role: "assistant", content: "Thought: wrong.\nAction: {}", weight: 0 },
      { role: "user", content: "Observation: {}" },
      { role: "assistant", content: "Answer: a" },
    ];
    const segments = jinjaTemplateFn(smollm2.template, { variables: SMOLLM2_TOKENS })(messages);
    const plain = messages.map((m) => ({ role: m.role, content: m.content }));
    assert.equal(segments.map((s) => s.text).join(""), renderChatTemplate(smollm2.template, { ...SMOLLM2_TOKENS, messages: plain }));
    assert.deepEqual(
      segments.filter((s) => s.train),
      [{ text: "Answer: a<|im_end|>", train: true, message: 3 }],
    );
  });
});

describe("model-style templates", () => {
  for (const c of styles.cases) {
    const label = `${c.template}: ${c.conversation} (generation prompt: ${c.addGenerationPrompt}, tools: ${c.withTools})`;
    test(`${label} ${c.error === undefined ? "renders as transformers does" : "fails as transformers does"}`, () => {
      const context = {
        ...styles.variables,
        messages: styles.conversations[c.conversation] as TemplateMessage[],
        tools: c.withTools ? styles.tools : undefined,
        add_generation_prompt: c.addGenerationPrompt,
      };
      const template = styles.templates[c.template] as string;
      if (c.error === undefined) {
        assert.equal(renderChatTemplate(template, context), c.text);
      } else {
        assert.throws(
          () => renderChatTemplate(template, context),
          (e: unknown) => e instanceof ChatTemplateError && e.kind === "raised" && e.templateMessage === c.error && e.message.includes(c.error),
        );
      }
    });
  }

  test("a template that trims content still gets its assistant spans (on the trimmed text)", () => {
    const messages = styles.conversations["no-system"] as TemplateMessage[];
    const r = renderWithAssistantSpans(styles.templates["gemma-style"] as string, { ...styles.variables, messages }, { endOfTurn: ["<end_of_turn>"] });
    assert.equal(r.assistant.length, 1);
    const a = r.assistant[0] as { start: number; end: number; turnEnd: number };
    assert.equal(r.text.slice(a.start, a.end), "Hello! 😀");
    assert.equal(r.text.slice(a.end, a.turnEnd), "<end_of_turn>");
  });
});

describe("chat template errors", () => {
  test("a template that does not parse gives kind syntax", () => {
    assert.throws(
      () => renderChatTemplate("{% for m in messages %}{{ m.content }}", { messages: [] }),
      (e: unknown) => e instanceof ChatTemplateError && e.kind === "syntax" && /does not parse/.test(e.message),
    );
  });

  test("a template failing while rendering gives kind render", () => {
    assert.throws(
      () => renderChatTemplate("{{ messages[0].content.nope() }}", { messages: [{ role: "user", content: "x" }] }),
      (e: unknown) => e instanceof ChatTemplateError && e.kind === "render",
    );
  });

  test("raise_exception gives kind raised with the template's message and a hint", () => {
    const template = "{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}ok";
    assert.equal(renderChatTemplate(template, { messages: [{ role: "user", content: "x" }] }), "ok");
    assert.throws(
      () => renderChatTemplate(template, { messages: [{ role: "system", content: "x" }] }),
      (e: unknown) =>
        e instanceof ChatTemplateError && e.kind === "raised" && e.templateMessage === "System role not supported" && e.hint !== undefined && /alternate/.test(e.hint),
    );
  });

  test("a template that rewrites earlier turns cannot be split into spans", () => {
    // Only the last assistant reply is shown in full, as reasoning templates do with past thoughts.
    const template = "{% for m in messages %}{{ m.role }}: {% if m.role == 'assistant' and not loop.last %}[…]{% else %}{{ m.content }}{% endif %}\n{% endfor %}";
    const messages = [
      { role: "user", content: "a" },
      { role: "assistant", content: "b" },
      { role: "user", content: "c" },
    ];
    assert.throws(
      () => renderWithAssistantSpans(template, { messages }),
      (e: unknown) => e instanceof ChatTemplateError && e.kind === "not-incremental",
    );
  });
});
