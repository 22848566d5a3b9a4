import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type BrowserContext, chromium } from "playwright-core";
import { type AgentServer, createServer } from "../../src/serve/server.js";
import { TOKYO_QUERY, TOKYO_TOOLS, tokyoModel } from "./helpers.js";

const CHROMIUM = "/usr/bin/chromium";
const SKIP = existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM}; install it with \`apt-get install -y chromium\``;
const ARTIFACTS = join(process.cwd(), "test-artifacts");

describe("the demo page in a real browser", { skip: SKIP }, () => {
  let server: AgentServer;
  let url: string;
  let browser: BrowserContext;
  let profile: string;
  before(async () => {
    server = createServer({
      model: tokyoModel({ id: "SmolLM2-135M-Instruct (scripted)" }),
      modelName: "SmolLM2-135M-Instruct (scripted)",
      adapter: "adapter (scripted)",
      baseModel: tokyoModel({ id: "base" }),
      tools: TOKYO_TOOLS,
      demo: true,
      engine: "scripted",
    });
    url = await server.listen(0);
    profile = mkdtempSync(join(tmpdir(), "agenttune-chromium-"));
    // A fresh profile directory for each run (playwright takes it as the persistent context's user data dir).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });
  after(async () => {
    await browser?.close();
    await server?.close(100);
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  test("the Tokyo query shows every step and the answer", async () => {
    const page = await browser.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(url);
    await page.locator("#tools li").nth(1).waitFor();
    assert.deepEqual(await page.locator("#tools code").allTextContents(), ["get_weather(city: string)", "search_restaurant(location: string, cuisine?: string)"]);
    assert.equal(await page.locator("#examples button").first().textContent(), TOKYO_QUERY);
    assert.match((await page.locator("#model-chip").textContent()) ?? "", /SmolLM2-135M-Instruct/);
    await page.fill("#query", TOKYO_QUERY);
    await page.click("#run");
    await page.locator(".run[data-state=done]").waitFor({ timeout: 10_000 });
    assert.equal(await page.locator(".step[data-step]").count(), 3);
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
    assert.equal(observations[1].name, "Ichiran Ramen");
    assert.equal(await page.locator(".part.final p").textContent(), "Tokyo is 8°C and cloudy. I recommend Ichiran Ramen (rated 4.6)!");
    assert.match((await page.locator(".step[data-step='1'] .timing").textContent()) ?? "", /model \d+ ms · tool \d+ ms/);
    assert.match((await page.locator(".status").textContent()) ?? "", /^answered · 3 steps/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "demo-tokyo.png"), fullPage: true, animations: "disabled" });
    // `UPDATE_DEMO_SCREENSHOT=1` refreshes the README's screenshot from this run.
    if (process.env.UPDATE_DEMO_SCREENSHOT === "1") await page.screenshot({ path: join(process.cwd(), "docs", "demo.png"), fullPage: true, animations: "disabled" });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("the compare toggle runs the base model and the adapter side by side", async () => {
    const page = await browser.newPage();
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.goto(url);
    await page.locator("#compare-toggle").waitFor({ state: "visible" });
    await page.click("#compare-toggle");
    assert.equal(await page.isChecked("#compare"), true);
    await page.locator("#examples button").first().click();
    await page.locator(".run[data-state=done]").nth(1).waitFor({ timeout: 10_000 });
    assert.deepEqual(await page.locator(".run h3").allTextContents(), ["Base model", "With adapter"]);
    assert.equal(await page.locator(".step.answer").count(), 2);
    await page.screenshot({ path: join(ARTIFACTS, "demo-compare.png"), fullPage: true, animations: "disabled" });
    await page.close();
  });

  test("the page follows a dark colour scheme and a narrow screen", async () => {
    const page = await browser.newPage();
    await page.emulateMedia({ colorScheme: "dark" });
    await page.setViewportSize({ width: 420, height: 900 });
    await page.goto(url);
    await page.locator("#examples button").first().click();
    await page.locator(".run[data-state=done]").waitFor({ timeout: 10_000 });
    const background = (await page.evaluate("getComputedStyle(document.body).backgroundColor")) as string;
    assert.equal(background, "rgb(15, 17, 23)");
    const width = (await page.evaluate("document.documentElement.scrollWidth")) as number;
    assert.ok(width <= 420, `the page scrolls sideways: ${width} px`);
    await page.screenshot({ path: join(ARTIFACTS, "demo-dark-narrow.png"), fullPage: true, animations: "disabled" });
    await page.close();
  });
});
