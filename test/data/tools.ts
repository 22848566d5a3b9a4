import type { AgentTools } from "../../src/agent/tools.js";
import { fakeTools } from "./fake-tools.js";

/** The built-in tool registry when it is present, else the fake tools with the same shapes. */
export async function testTools(): Promise<AgentTools> {
  const path = "../../src/tools/registry.js";
  try {
    const mod = (await import(path)) as { createDefaultRegistry(): AgentTools };
    return mod.createDefaultRegistry();
  } catch {
    return fakeTools();
  }
}
