/**
 * The local stack's keys, as `supabase start` makes them: the JWT secret (the CLI's well-known
 * local secret unless SUPABASE_JWT_SECRET says otherwise), the legacy anon and service_role keys
 * (HS256 over that secret, with the CLI's exact claims, so they come out identical to the CLI's
 * demo keys), and an ES256 signing key for user tokens, published as a JWKS like the current CLI.
 * The signing key is generated once per data folder and kept there.
 */
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from "jose";
import { join } from "node:path";
import { createJwtVerifier, type VerifyJwt } from "../supabase/functions/_shared/auth.ts";

/** The Supabase CLI's local JWT secret. */
export const DEFAULT_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";

/** The CLI's expiry for its demo keys. */
const DEMO_KEY_EXP = 1983812996;

export type UserTokenAlg = "ES256" | "HS256";

export interface LocalKeys {
  jwtSecret: string;
  anonKey: string;
  serviceRoleKey: string;
  /** The public half of the user-token signing key. */
  jwks: JSONWebKeySet;
  /** Which algorithm user access tokens are signed with. */
  userTokenAlg: UserTokenAlg;
  /** Signs a user access token (or any claims) with `userTokenAlg`. */
  signUserToken(claims: Record<string, unknown>): Promise<string>;
  /** Signs claims with HS256 and the JWT secret (legacy keys, signed URLs). */
  signHs256(claims: Record<string, unknown>): Promise<string>;
  /** Verifies HS256 and ES256 tokens of this stack. */
  verify: VerifyJwt;
  /**
   * Checks only the signature and expiry, as the edge runtime's verify_jwt does: a validly signed
   * token without a `role` claim passes. Throws otherwise.
   */
  verifySignature(token: string): Promise<JWTPayload>;
}

export interface KeyOptions {
  jwtSecret?: string;
  /** Folder to keep the ES256 signing key in; omitted means a fresh key per boot. */
  keyDir?: string;
  userTokenAlg?: UserTokenAlg;
}

export async function loadKeys(options: KeyOptions = {}): Promise<LocalKeys> {
  const jwtSecret = options.jwtSecret ?? DEFAULT_JWT_SECRET;
  if (jwtSecret.length < 32) {
    throw new Error("SUPABASE_JWT_SECRET must be at least 32 characters long");
  }
  const secret = new TextEncoder().encode(jwtSecret);
  const signHs256 = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(secret);

  const privateJwk = await loadSigningKey(options.keyDir);
  const privateKey = await importJWK(privateJwk, "ES256");
  const { d: _d, ...publicJwk } = privateJwk;
  const jwks: JSONWebKeySet = {
    keys: [{ ...publicJwk, alg: "ES256", use: "sig", key_ops: ["verify"] }],
  };
  const userTokenAlg = options.userTokenAlg ?? "ES256";
  const signUserToken = userTokenAlg === "HS256"
    ? signHs256
    : (claims: Record<string, unknown>) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: privateJwk.kid! })
        .sign(privateKey);

  return {
    jwtSecret,
    anonKey: await signHs256({ iss: "supabase-demo", role: "anon", exp: DEMO_KEY_EXP }),
    serviceRoleKey: await signHs256({
      iss: "supabase-demo",
      role: "service_role",
      exp: DEMO_KEY_EXP,
    }),
    jwks,
    userTokenAlg,
    signUserToken,
    signHs256,
    verify: createJwtVerifier({ jwtSecret, jwks }),
    verifySignature: async (token) => {
      const keySet = createLocalJWKSet(jwks);
      const { payload } = await jwtVerify(
        token,
        (header) => header.alg === "HS256" ? secret : keySet(header),
        { algorithms: ["HS256", "ES256"] },
      );
      return payload;
    },
  };
}

async function loadSigningKey(keyDir: string | undefined): Promise<JWK> {
  const path = keyDir ? join(keyDir, "signing-key.json") : undefined;
  if (path) {
    try {
      return JSON.parse(await Deno.readTextFile(path)) as JWK;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: crypto.randomUUID() };
  if (path) {
    await Deno.mkdir(keyDir!, { recursive: true });
    await Deno.writeTextFile(path, JSON.stringify(jwk, null, 2), { mode: 0o600 });
  }
  return jwk;
}
