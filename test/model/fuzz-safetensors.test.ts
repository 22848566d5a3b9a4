import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { FileFormatError } from "../../src/errors.js";
import { openSafetensors, UnsupportedDtypeError, writeSafetensors } from "../../src/model/safetensors.js";
import { MutantFile, mutate, rng } from "./fuzz-helpers.js";

const ITERATIONS = 10000;
const dir = mkdtempSync(join(tmpdir(), "agenttune-fuzz-st-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function check(mutant: MutantFile, bytes: Uint8Array, label: string): "refused" | "opened" {
  const path = mutant.path;
  mutant.write(bytes);
  let file: ReturnType<typeof openSafetensors>;
  try {
    file = openSafetensors(path);
  } catch (error) {
    if (!(error instanceof FileFormatError)) assert.fail(`${label}: ${String(error)} (${(error as Error).name})`);
    assert.equal(error.file, path);
    return "refused";
  }
  try {
    for (const t of file.tensors) {
      try {
        file.readTensor(t.name);
      } catch (error) {
        if (!(error instanceof UnsupportedDtypeError)) assert.fail(`${label}: reading ${t.name}: ${String(error)}`);
      }
    }
  } finally {
    file.close();
  }
  return "opened";
}

function base(): { bytes: Buffer; headerEnd: number; header: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }> } {
  const path = join(dir, "base.safetensors");
  writeSafetensors(
    path,
    {
      "a.weight": { dtype: "F32", shape: [4, 3], data: new Float32Array(12).fill(1) },
      "b.weight": { dtype: "BF16", shape: [5], data: new Float32Array(5).fill(2) },
      "c.bias": { dtype: "F16", shape: [2, 2], data: new Float32Array(4).fill(3) },
    },
    { format: "pt" },
  );
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  return { bytes, headerEnd: 8 + n, header: JSON.parse(bytes.subarray(8, 8 + n).toString("utf8")) };
}

test("byte-level mutations of a safetensors file always end in FileFormatError or a valid file", () => {
  const { bytes, headerEnd } = base();
  const rand = rng(424242);
  const file = new MutantFile(join(dir, "mutant.safetensors"));
  let refused = 0;
  for (let i = 0; i < ITERATIONS; i++) if (check(file, mutate(bytes, headerEnd, rand), `iteration ${i}`) === "refused") refused++;
  file.close();
  assert.ok(refused > ITERATIONS / 2, `only ${refused} refused`);
});

test("lying header entries (dtype, shape, offsets, lengths) are always FileFormatError", () => {
  const { bytes, headerEnd, header } = base();
  const data = bytes.subarray(headerEnd);
  const rand = rng(99);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const file = new MutantFile(join(dir, "lying.safetensors"));
  const names = Object.keys(header).filter((k) => k !== "__metadata__");
  const weird = [-1, 1.5, 2 ** 53, 2 ** 64, 1e300, "8", null, [], {}, Number.NaN];
  for (let i = 0; i < 400; i++) {
    const h = structuredClone(header) as Record<string, Record<string, unknown>>;
    const e = h[pick(names)];
    switch (Math.floor(rand() * 5)) {
      case 0:
        e.dtype = pick(["Q4_0", "f32", "", "F128", 7, null]);
        break;
      case 1:
        e.shape = pick([[-1], [1.5], [2 ** 40, 2 ** 40], [3, 3, 3, 3], "12", [weird[Math.floor(rand() * weird.length)]]]);
        break;
      case 2:
        e.data_offsets = [pick(weird), pick(weird)];
        break;
      case 3: {
        // shift one tensor onto another (overlap) or past the end
        const [b, en] = e.data_offsets as number[];
        const d = pick([-4, 4, 1024, -(b + 1)]);
        e.data_offsets = [b + d, en + d];
        break;
      }
      default:
        h.__metadata__ = pick([{ n: 1 }, [], "x", { a: null }]) as never;
    }
    const json = Buffer.from(JSON.stringify(h));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    assert.equal(check(file, Buffer.concat([len, json, data]), `lie ${i}: ${JSON.stringify(e)}`), "refused", `lie ${i}: ${JSON.stringify(h)}`);
  }
  file.close();
});
