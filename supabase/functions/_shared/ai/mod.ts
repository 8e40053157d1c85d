/**
 * The AI provider the configuration asks for: `openai` (OPENAI_API_KEY set, or AI_PROVIDER=openai)
 * or `local` (deterministic and offline). Functions get it as `deps.ai` and never pick one.
 */
import type { Config } from "../config.ts";
import { createLocalProvider } from "./local.ts";
import { createOpenAiProvider } from "./openai.ts";
import type { AiProvider } from "./types.ts";

export type * from "./types.ts";
export { EMBEDDING_DIMENSIONS } from "./types.ts";

/** Builds the configured provider. */
export function createAiProvider(config: Pick<Config, "ai">): AiProvider {
  return config.ai.provider === "openai" ? createOpenAiProvider(config.ai) : createLocalProvider();
}
