/**
 * `message-preprocess`: messages enter the signed-in user's conversation cleaned, with personal
 * data and secrets redacted as the organization's settings say, prompt-injection phrases flagged,
 * a token estimate and an embedding. See README "message-preprocess".
 *
 *   POST /message-preprocess    one message or up to 100; `store: false` only previews
 *
 * verify_jwt is on (no machine route); the route verifies the JWT again with userAuth.
 */
import type { MessagePreprocessResponse } from "../_shared/contracts/message-preprocess.ts";
import type { Deps } from "../_shared/deps.ts";
import { createFunctionApp } from "../_shared/http/app.ts";
import { userAuth } from "../_shared/http/auth.ts";
import { validate } from "../_shared/http/validate.ts";
import { preprocessMessages } from "./preprocess.ts";
import { MAX_BODY_BYTES, MessagePreprocessRequest } from "./schema.ts";

export function createApp(deps: Deps) {
  const app = createFunctionApp("message-preprocess", {
    logger: deps.logger,
    corsOrigins: deps.config.corsOrigins,
    maxBodyBytes: MAX_BODY_BYTES,
  });

  app.post("/", userAuth(deps.verifyJwt), validate("json", MessagePreprocessRequest), async (c) => {
    const messages = await preprocessMessages(c.get("claims"), c.req.valid("json"), deps);
    const body: MessagePreprocessResponse = { messages };
    return c.json(body);
  });

  return app;
}
