import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import type { ChatMessage, ChatModel } from "../../src/agent/chat-model.js";
import { type AgentServer, createServer } from "../../src/serve/server.js";
import { TOKYO_QUERY, TOKYO_TOOLS, tokyoModel } from "./helpers.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SKIP = existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM}; install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH)`;
const ARTIFACTS = join(process.cwd(), "test-artifacts");
// Every wait is bounded: a browser action or locator wait fails after WAIT_MS, a test after
// TEST_MS, starting Chromium after LAUNCH_MS, and the clean-up gives up after CLOSE_MS.
const WAIT_MS = 10_000;
const TEST_MS = 45_000;
const LAUNCH_MS = 30_000;
const CLOSE_MS = 10_000;
// The machine's network is closed: without these Chromium waits on connections it cannot make.
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function observationsIn(messages: ChatMessage[]): number {
  return messages.filter((m) => m.role === "user" && m.content.startsWith("Observation:")).length;
}

/**
 * The scripted Tokyo model, which the test can hold before its final reply (the one after two
 * Observations) to look at the page mid-run. A hold lets go by itself after WAIT_MS.
 */
function holdableTokyoModel(id: string): { model: ChatModel; hold(): void; release(): void } {
  const inner = tokyoModel({ id });
  let gate: Promise<void> | undefined;
  let open = () => {};
  return {
    model: {
      id: inner.id,
      generate: (messages, options) => inner.generate(messages, options),
      async *stream(messages, options) {
        if (gate !== undefined && observationsIn(messages) === 2) await gate;
        yield* inner.stream(messages, options);
      },
    },
    hold() {
      gate = new Promise((resolve) => {
        const timer = setTimeout(resolve, WAIT_MS);
        open = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    },
    release() {
      open();
      gate = undefined;
    },
  };
}

async function bounded<T>(what: string, promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      console.error(`${what} did not finish within ${ms} ms; going on`);
      resolve(undefined);
    }, ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Page errors and console errors (a failed request for a script, style or icon among them). */
function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  return errors;
}

function screenshotIsPng(file: string): void {
  const bytes = readFileSync(file);
  assert.ok(bytes.length > 10_000, `${file}: ${bytes.length} bytes`);
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${file} is not a PNG`);
}

describe("the demo page in a real browser", { skip: SKIP, timeout: 4 * TEST_MS }, () => {
  const tuned = holdableTokyoModel("SmolLM2-135M-Instruct (scripted)");
  let server: AgentServer;
  let url: string;
  let browser: BrowserContext;
  let profile: string;
  before(
    async () => {
      server = createServer({
        model: tuned.model,
        modelName: "SmolLM2-135M-Instruct (scripted)",
        adapter: "adapter (scripted)",
        baseModel: tokyoModel({ id: "base" }),
        tools: TOKYO_TOOLS,
        demo: true,
        engine: "scripted",
      });
      url = await server.listen(0);
      mkdirSync(ARTIFACTS, { recursive: true });
      // A fresh profile for each run: playwright hands it to Chromium as --user-data-dir.
      profile = mkdtempSync(join(tmpdir(), "agenttune-chromium-"));
      browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: LAUNCH_MS });
      browser.setDefaultTimeout(WAIT_MS);
      browser.setDefaultNavigationTimeout(WAIT_MS);
    },
    { timeout: LAUNCH_MS + WAIT_MS },
  );
  after(
    async () => {
      tuned.release();
      if (browser) await bounded("closing Chromium", browser.close(), CLOSE_MS);
      if (server) await bounded("closing the server", server.close(100), CLOSE_MS);
      if (profile) rmSync(profile, { recursive: true, force: true });
    },
    { timeout: 3 * CLOSE_MS },
  );

  test("the Tokyo query shows each step as it happens, then the answer", { timeout: TEST_MS }, async () => {
    const page = await browser.newPage();
    const errors = collectErrors(page);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(url);
    await page.locator("#tools li").nth(1).waitFor();
    assert.deepEqual(await page.locator("#tools code").allTextContents(), ["get_weather(city: string)", "search_restaurant(location: string, cuisine?: string)"]);
    assert.equal(await page.locator("#examples button").first().textContent(), TOKYO_QUERY);
    assert.match((await page.locator("#model-chip").textContent()) ?? "", /SmolLM2-135M-Instruct/);

    // The model is held before its last reply: the two tool steps are on the page already,
    // streamed one event at a time, while the run is still going.
    tuned.hold();
    try {
      await page.fill("#query", TOKYO_QUERY);
      await page.click("#run");
      await page.locator(".step[data-step='1'] .part.observation").waitFor();
      await page.locator(".step[data-step='2'] .part.observation").waitFor();
      assert.equal(await page.locator(".run").getAttribute("data-state"), "running");
      assert.equal(await page.locator(".part.final").count(), 0);
      assert.equal(await page.locator("#run").isDisabled(), true);
      assert.equal(await page.locator(".step.pending").textContent(), "Thinking…");
      await page.screenshot({ path: join(ARTIFACTS, "demo-tokyo-running.png"), fullPage: true, animations: "disabled" });
    } finally {
      tuned.release();
    }

    await page.locator(".run[data-state=done]").waitFor();
    assert.equal(await page.locator(".step[data-step]").count(), 3);
    assert.equal(await page.locator(".step.pending").count(), 0);
    // Every part, in the order the episode wrote it.
    assert.deepEqual(
      await page.locator(".step[data-step] .part").evaluateAll((parts) => parts.map((p) => `${p.closest(".step")?.getAttribute("data-step")}:${p.classList[1]}`)),
      ["1:thought", "1:action", "1:observation", "2:thought", "2:action", "2:observation", "3:thought", "3:final"],
    );
    assert.deepEqual(await page.locator(".part.thought p").allTextContents(), [
      "I need the weather in Tokyo first.",
      "8°C is cold. I should recommend a ramen restaurant.",
      "I have both results.",
    ]);
    const actions = (await page.locator(".part.action pre").allTextContents()).map((t) => JSON.parse(t));
    assert.deepEqual(actions, [
      { name: "get_weather", arguments: { city: "Tokyo" } },
      { name: "search_restaurant", arguments: { location: "Tokyo", cuisine: "ramen" } },
    ]);
    const observations = (await page.locator(".part.observation pre").allTextContents()).map((t) => JSON.parse(t));
    assert.deepEqual(observations, [
      { city: "Tokyo", temperature: 8, condition: "cloudy" },
      { name: "Ichiran Ramen", location: "Tokyo", rating: 4.6 },
    ]);
    assert.equal(await page.locator(".part.final p").textContent(), "Tokyo is 8°C and cloudy. I recommend Ichiran Ramen (rated 4.6)!");
    assert.match((await page.locator(".step[data-step='1'] .timing").textContent()) ?? "", /^model \d+ ms · tool \d+ ms$/);
    assert.match((await page.locator(".status").textContent()) ?? "", /^answered · 3 steps · /);
    assert.equal(await page.locator("#run").isDisabled(), false);
    const shot = join(ARTIFACTS, "demo-tokyo.png");
    await page.screenshot({ path: shot, fullPage: true, animations: "disabled" });
    screenshotIsPng(shot);
    // `UPDATE_DEMO_SCREENSHOT=1` refreshes the README's screenshot from this run.
    if (process.env.UPDATE_DEMO_SCREENSHOT === "1") await page.screenshot({ path: join(process.cwd(), "docs", "demo.png"), fullPage: true, animations: "disabled" });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("the compare toggle runs the base model and the adapter side by side", { timeout: TEST_MS }, async () => {
    const page = await browser.newPage();
    const errors = collectErrors(page);
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.goto(url);
    await page.locator("#compare-toggle").waitFor({ state: "visible" });
    await page.click("#compare-toggle");
    assert.equal(await page.isChecked("#compare"), true);
    await page.locator("#examples button").first().click();
    await page.locator(".run[data-state=done]").nth(1).waitFor();
    assert.deepEqual(await page.locator(".run h3").allTextContents(), ["Base model", "With adapter"]);
    assert.equal(await page.locator(".step.answer").count(), 2);
    for (const run of await page.locator(".run").all()) assert.equal(await run.locator(".step[data-step]").count(), 3);
    const shot = join(ARTIFACTS, "demo-compare.png");
    await page.screenshot({ path: shot, fullPage: true, animations: "disabled" });
    screenshotIsPng(shot);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("the page follows a dark colour scheme and a narrow screen", { timeout: TEST_MS }, async () => {
    const page = await browser.newPage();
    const errors = collectErrors(page);
    await page.emulateMedia({ colorScheme: "dark" });
    await page.setViewportSize({ width: 420, height: 900 });
    await page.goto(url);
    await page.locator("#examples button").first().click();
    await page.locator(".run[data-state=done]").waitFor();
    const background = (await page.evaluate("getComputedStyle(document.body).backgroundColor")) as string;
    assert.equal(background, "rgb(15, 17, 23)");
    const width = (await page.evaluate("document.documentElement.scrollWidth")) as number;
    assert.ok(width <= 420, `the page scrolls sideways: ${width} px`);
    const shot = join(ARTIFACTS, "demo-dark-narrow.png");
    await page.screenshot({ path: shot, fullPage: true, animations: "disabled" });
    screenshotIsPng(shot);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
