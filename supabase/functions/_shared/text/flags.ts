/**
 * Prompt-injection flags: phrases that try to override an agent's instructions, reported so a
 * caller (or a reviewer) can act; the text itself is never changed. Heuristic and deliberately
 * narrow: each flag needs an instruction-shaped phrase, not a single word, so ordinary talk
 * about "systems" or "prompts" is not flagged.
 *
 *   flag                   examples
 *   ignore_instructions    "ignore (all) previous/prior/above instructions", "forget your rules"
 *   disregard_instructions "disregard the above", "disregard your previous instructions"
 *   role_override          "you are now ...", "from now on you are/will", "act as an unrestricted"
 *   system_prompt          "system prompt", "reveal/show/print your instructions"
 *   jailbreak              "DAN mode", "developer mode", "jailbreak", "do anything now"
 *   fake_delimiter         chat-template markers in user text: `<|im_start|>`, `[INST]`,
 *                          `<<SYS>>`, a line starting `system:` / `### system`
 */

export const INJECTION_FLAGS = [
  "ignore_instructions",
  "disregard_instructions",
  "role_override",
  "system_prompt",
  "jailbreak",
  "fake_delimiter",
] as const;

export type InjectionFlag = (typeof INJECTION_FLAGS)[number];

const EARLIER = String
  .raw`(?:all\s+|any\s+|the\s+|your\s+|my\s+|of\s+)*(?:previous|prior|above|earlier|preceding|original|initial|existing|system|developer)`;
const RULES = String
  .raw`(?:instructions?|prompts?|rules|directions|guidelines|context|messages?|orders|constraints)`;

const PATTERNS: Record<InjectionFlag, RegExp> = {
  ignore_instructions: new RegExp(
    String
      .raw`\b(?:ignore|forget|override|bypass|skip)\s+${EARLIER}\s+${RULES}\b|\bforget\s+(?:all\s+|everything\s+)?(?:your|the)\s+${RULES}\b`,
    "i",
  ),
  disregard_instructions: new RegExp(
    String
      .raw`\bdisregard\s+(?:${EARLIER}(?:\s+${RULES})?|(?:all\s+|any\s+)?(?:your|the)\s+${RULES})\b`,
    "i",
  ),
  role_override:
    /\byou\s+are\s+now\b|\bfrom\s+now\s+on,?\s+you\s+(?:are|will|must|shall)\b|\b(?:act|behave)\s+as\s+(?:an?\s+)?(?:unrestricted|unfiltered|uncensored)\b|\bpretend\s+(?:that\s+)?you\s+(?:are|have)\s+no\s+(?:rules|restrictions|limits)\b/i,
  system_prompt:
    /\bsystem\s+prompt\b|\b(?:reveal|show|print|repeat|output|leak|display)\s+(?:me\s+)?(?:your|the)\s+(?:hidden\s+|initial\s+|original\s+|secret\s+)?(?:instructions|prompt|rules)\b/i,
  jailbreak: /\bjailbr(?:eak|oken)\b|\bDAN\s+mode\b|\bdeveloper\s+mode\b|\bdo\s+anything\s+now\b/i,
  fake_delimiter:
    /<\|(?:im_start|im_end|system|endoftext)\|>|\[\/?INST\]|<<\/?SYS>>|^\s*(?:#{1,6}\s*)?system\s*:/im,
};

/** The injection flags `text` raises, in INJECTION_FLAGS order; [] for ordinary text. */
export function detectInjection(text: string): InjectionFlag[] {
  return INJECTION_FLAGS.filter((flag) => PATTERNS[flag].test(text));
}
