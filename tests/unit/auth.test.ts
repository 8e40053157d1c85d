import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import {
  bearerToken,
  createJwtVerifier,
  requireServiceRole,
  requireUser,
} from "../../supabase/functions/_shared/auth.ts";
import { AppError } from "../../supabase/functions/_shared/errors.ts";

const SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
const USER_ID = "5b6f1c43-8a57-4b7e-9d0a-0f2c9a1e7d11";
const now = () => Math.floor(Date.now() / 1000);

function userClaims(overrides: Record<string, unknown> = {}) {
  return {
    sub: USER_ID,
    role: "authenticated",
    aud: "authenticated",
    email: "alice@acme.test",
    iat: now(),
    exp: now() + 600,
    ...overrides,
  };
}

const hs256 = (claims: Record<string, unknown>, secret = SECRET) =>
  new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(
    new TextEncoder().encode(secret),
  );

async function es256Pair() {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const kid = crypto.randomUUID();
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" };
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: "ES256", typ: "JWT", kid }).sign(privateKey);
  return { publicJwk, sign };
}

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AppError, `expected AppError, got ${error}`);
    assert.equal(error.code, "unauthenticated");
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("verifyJwt() accepts an HS256 token signed with the project secret", async () => {
  const verify = createJwtVerifier({ jwtSecret: SECRET });
  const claims = await verify(await hs256(userClaims()));
  assert.equal(claims.sub, USER_ID);
  assert.equal(claims.role, "authenticated");
});

Deno.test("verifyJwt() accepts an ES256 token whose key is in the JWKS", async () => {
  const { publicJwk, sign } = await es256Pair();
  const verify = createJwtVerifier({ jwtSecret: SECRET, jwks: { keys: [publicJwk] } });
  const claims = await verify(await sign(userClaims()));
  assert.equal(claims.email, "alice@acme.test");
});

Deno.test("verifyJwt() refuses an ES256 token signed by a key outside the JWKS", async () => {
  const trusted = await es256Pair();
  const stranger = await es256Pair();
  const verify = createJwtVerifier({ jwtSecret: SECRET, jwks: { keys: [trusted.publicJwk] } });
  await rejects(verify(await stranger.sign(userClaims())), /no matching signing key/);
});

Deno.test("verifyJwt() refuses a token signed with another secret", async () => {
  const verify = createJwtVerifier({ jwtSecret: SECRET });
  const forged = await hs256(userClaims(), "another-secret-that-is-at-least-32-characters");
  await rejects(verify(forged), /signature mismatch/);
});

Deno.test("verifyJwt() refuses an expired token", async () => {
  const verify = createJwtVerifier({ jwtSecret: SECRET });
  await rejects(verify(await hs256(userClaims({ exp: now() - 60 }))), /expired/);
});

Deno.test("verifyJwt() refuses a tampered payload", async () => {
  const verify = createJwtVerifier({ jwtSecret: SECRET });
  const [header, , signature] = (await hs256(userClaims())).split(".");
  const payload = btoa(JSON.stringify(userClaims({ role: "service_role" })))
    .replaceAll("=", "").replaceAll("+", "-").replaceAll("/", "_");
  await rejects(verify(`${header}.${payload}.${signature}`), /signature mismatch/);
});

Deno.test("verifyJwt() refuses alg none and garbage", async () => {
  const verify = createJwtVerifier({ jwtSecret: SECRET });
  const none = `${btoa('{"alg":"none","typ":"JWT"}')}.${btoa(JSON.stringify(userClaims()))}.`
    .replaceAll("=", "");
  await rejects(verify(none), /unsupported algorithm/);
  await rejects(verify("not-a-jwt"), /malformed/);
});

Deno.test("verifyJwt() never uses an oct key from the JWKS as a symmetric key", async () => {
  // The CLI's SUPABASE_JWKS holds the JWT secret as an `oct` key next to the public keys.
  const octJwk: JWK = {
    kty: "oct",
    k: btoa("attacker-chosen-secret-of-32-characters!").replaceAll("=", ""),
    kid: "oct-key",
    alg: "HS256",
  };
  const verify = createJwtVerifier({ jwtSecret: SECRET, jwks: { keys: [octJwk] } });
  const token = await new SignJWT(userClaims())
    .setProtectedHeader({ alg: "HS256", kid: "oct-key" })
    .sign(new TextEncoder().encode("attacker-chosen-secret-of-32-characters!"));
  await rejects(verify(token), /signature mismatch/);
});

Deno.test("verifyJwt() without the secret asks the auth server about HS256 tokens", async () => {
  const token = await hs256(userClaims());
  const seen: string[] = [];
  await using server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (req) => {
    seen.push(req.headers.get("authorization") ?? "");
    const ok = req.headers.get("authorization") === `Bearer ${token}`;
    return Response.json(ok ? { id: USER_ID } : { code: "bad_jwt" }, { status: ok ? 200 : 403 });
  });
  const url = `http://127.0.0.1:${server.addr.port}/auth/v1`;
  const verify = createJwtVerifier({ authServer: { url, apiKey: "anon" } });
  assert.equal((await verify(token)).sub, USER_ID);
  await rejects(verify(await hs256(userClaims({ sub: crypto.randomUUID() }))), /auth server/);
  assert.equal(seen.length, 2);
});

Deno.test("requireUser() accepts a user's claims and refuses anon and service tokens", () => {
  assert.equal(requireUser(userClaims()).sub, USER_ID);
  assert.throws(() => requireUser({ role: "anon" }), /signed-in user/);
  assert.throws(() => requireUser({ role: "service_role" }), /signed-in user/);
  assert.throws(() => requireUser(userClaims({ sub: "not-a-uuid" })), /signed-in user/);
  assert.throws(() => requireUser(userClaims({ aud: "other" })), /signed-in user/);
});

Deno.test("requireServiceRole() is forbidden for a user", () => {
  assert.doesNotThrow(() => requireServiceRole({ role: "service_role" }));
  assert.throws(
    () => requireServiceRole(userClaims()),
    (e: unknown) => e instanceof AppError && e.code === "forbidden",
  );
});

Deno.test("bearerToken() reads the token of a Bearer header only", () => {
  assert.equal(bearerToken("Bearer abc.def"), "abc.def");
  assert.equal(bearerToken("bearer abc"), "abc");
  assert.equal(bearerToken("Basic abc"), null);
  assert.equal(bearerToken(undefined), null);
  assert.equal(bearerToken("Bearer "), null);
});
