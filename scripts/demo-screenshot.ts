/**
 * Screenshots the demo page answering the Tokyo question with a real model (for the README).
 * Start the demo first, then run this against it:
 *   agenttune demo --model smollm2-135m-instruct --adapter runs/quickstart/adapter.gguf --port 8765 &
 *   node --import tsx scripts/demo-screenshot.ts http://127.0.0.1:8765/ docs/demo.png
 * Needs Chromium (Debian: apt-get install chromium; or set CHROMIUM_PATH).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [url = "http://127.0.0.1:8765/", out = "docs/demo.png"] = process.argv.slice(2);
const QUERY = "What's the weather in Tokyo? If it's cold, recommend a ramen place.";
// The machine's network is closed: without these flags Chromium waits on connections it cannot make.
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "agenttune-shot-")), {
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ARGS,
  viewport: { width: 1280, height: 900 },
});
try {
  const page = await browser.newPage();
  await page.goto(url, { timeout: 30_000 });
  await page.fill("#query", QUERY);
  await page.click("#run");
  await page.locator(".run[data-state=done]").first().waitFor({ timeout: 300_000 });
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
}
