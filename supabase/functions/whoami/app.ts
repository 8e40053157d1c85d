/**
 * `whoami`: the caller's identity as this backend sees it, verified and through the database:
 * the token's claims and what RLS will see (`auth.uid()`, the role). The first thing to call after
 * a deploy or a key rotation: a 401 here is a token problem, a wrong `uid` an RLS problem.
 */
import type { WhoamiResponse } from "../_shared/contracts/whoami.ts";
import type { Deps } from "../_shared/deps.ts";
import { createFunctionApp } from "../_shared/http/app.ts";
import { userAuth } from "../_shared/http/auth.ts";

export function createApp(deps: Deps) {
  const app = createFunctionApp("whoami", {
    logger: deps.logger,
    corsOrigins: deps.config.corsOrigins,
  });

  app.on(["GET", "POST"], "/", userAuth(deps.verifyJwt), async (c) => {
    const claims = c.get("claims");
    const [database] = await deps.db.asUser(
      claims,
      (tx) =>
        tx.query<{ uid: string; role: string }>("select auth.uid() as uid, current_user as role"),
    );
    const body: WhoamiResponse = {
      user: { id: claims.sub, email: claims.email ?? null, role: claims.role },
      token: { issuer: claims.iss ?? null, expires_at: claims.exp ?? null },
      database: database ?? { uid: null, role: "unknown" },
    };
    return c.json(body);
  });

  return app;
}
