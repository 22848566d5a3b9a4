// A child process for test/temp-files.test.ts: writes a JSONL file whose items stop after the
// first until stdin closes or, with "own-handler", until its own Ctrl-C handler lets them go on.
import { writeJsonl } from "../../src/data/jsonl.js";

const [file, mode] = process.argv.slice(2);
let finish: () => void = () => undefined;
const released = new Promise<void>((resolve) => {
  finish = resolve;
});
if (mode === "own-handler") process.once("SIGINT", () => finish());
process.stdin.on("close", () => finish());
process.stdin.resume();

async function* items() {
  yield { n: 1 };
  process.stdout.write("started\n");
  await released;
  yield { n: 2 };
}
await writeJsonl(file as string, items());
process.stdout.write("written\n");
process.stdin.destroy();
