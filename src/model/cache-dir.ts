import { homedir } from "node:os";
import { join } from "node:path";

/**
 * Where AgentTune keeps downloaded models: $AGENTTUNE_CACHE_DIR, else $XDG_CACHE_HOME/agenttune,
 * else ~/.cache/agenttune. Never inside the repository.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AGENTTUNE_CACHE_DIR) return env.AGENTTUNE_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "agenttune");
}
