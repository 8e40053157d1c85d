/**
 * JWT verification for user and service calls, with jose.
 *
 * Supabase issues two kinds of tokens. Legacy ones (the anon and service_role keys, and user
 * tokens on projects without asymmetric keys) are HS256, signed with the project's JWT secret.
 * Newer projects and the current CLI sign user tokens with ES256 (or RS256) and publish the public
 * keys as a JWKS. The verifier accepts both, picking the key by the token's `alg`.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
} from "jose";
import { z } from "zod";
import { AppError } from "./errors.ts";

/** The claims the platform puts in its tokens; unknown claims are kept. */
export const ClaimsSchema = z.looseObject({
  role: z.string().min(1),
  sub: z.string().optional(),
  aud: z.union([z.string(), z.array(z.string())]).optional(),
  exp: z.number().optional(),
  iat: z.number().optional(),
  iss: z.string().optional(),
  email: z.string().optional(),
  phone: z.string().optional(),
  session_id: z.string().optional(),
  is_anonymous: z.boolean().optional(),
  app_metadata: z.record(z.string(), z.unknown()).optional(),
  user_metadata: z.record(z.string(), z.unknown()).optional(),
});

export type Claims = z.infer<typeof ClaimsSchema>;

/** Claims of a signed-in user: role `authenticated`, a uuid `sub`. */
export type UserClaims = Claims & { role: "authenticated"; sub: string };

export interface VerifierOptions {
  /** The project's JWT secret, for HS256 tokens. */
  jwtSecret?: string | undefined;
  /** A JWKS document (SUPABASE_JWKS), for ES256/RS256 tokens. */
  jwks?: JSONWebKeySet;
  /** Where to fetch the JWKS when none is given (<SUPABASE_URL>/auth/v1/.well-known/jwks.json). */
  jwksUrl?: URL;
  /**
   * Without the secret, HS256 tokens are checked by the auth server instead, as auth-js's
   * getClaims() does: `GET <authUrl>/user` must accept the token.
   */
  authServer?: { url: string; apiKey: string };
}

export type VerifyJwt = (token: string) => Promise<Claims>;

const ASYMMETRIC_ALGS = ["ES256", "RS256", "EdDSA"];

/** Returns a function that verifies a token and returns its claims, or throws `unauthenticated`. */
export function createJwtVerifier(options: VerifierOptions): VerifyJwt {
  const secret = options.jwtSecret ? new TextEncoder().encode(options.jwtSecret) : undefined;
  // Only public keys: a JWKS with an `oct` key (as the CLI's SUPABASE_JWKS has) must not let a
  // token pick the symmetric path through the key set.
  const publicKeys = options.jwks
    ? { keys: options.jwks.keys.filter((k) => k.kty !== "oct") }
    : undefined;
  const keySet = publicKeys
    ? createLocalJWKSet(publicKeys)
    : options.jwksUrl
    ? createRemoteJWKSet(options.jwksUrl)
    : undefined;

  return async function verifyJwt(token: string): Promise<Claims> {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new AppError("unauthenticated", "Invalid JWT: malformed token");
    }
    let payload: JWTPayload;
    try {
      if (alg === "HS256" && secret) {
        ({ payload } = await jwtVerify(token, secret, { algorithms: ["HS256"] }));
      } else if (alg === "HS256" && options.authServer) {
        payload = await verifyWithAuthServer(token, options.authServer);
      } else if (alg && ASYMMETRIC_ALGS.includes(alg) && keySet) {
        ({ payload } = await jwtVerify(token, keySet, { algorithms: ASYMMETRIC_ALGS }));
      } else {
        throw new AppError("unauthenticated", `Invalid JWT: unsupported algorithm "${alg}"`);
      }
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw new AppError("unauthenticated", `Invalid JWT: ${describeJoseError(error)}`, {
        cause: error,
      });
    }
    const claims = ClaimsSchema.safeParse(payload);
    if (!claims.success) {
      throw new AppError("unauthenticated", "Invalid JWT: missing or malformed role claim");
    }
    return claims.data;
  };
}

/** Asks the auth server whether it accepts the token; returns the token's payload if it does. */
async function verifyWithAuthServer(
  token: string,
  server: { url: string; apiKey: string },
): Promise<JWTPayload> {
  const response = await fetch(`${server.url}/user`, {
    headers: { authorization: `Bearer ${token}`, apikey: server.apiKey },
    signal: AbortSignal.timeout(5000),
  });
  await response.body?.cancel();
  if (!response.ok) {
    throw new AppError("unauthenticated", "Invalid JWT: rejected by the auth server");
  }
  return decodeJwt(token);
}

/** The bearer token of an Authorization header, or null. */
export function bearerToken(header: string | null | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1] ?? null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Narrows claims to a signed-in user's (aud and role `authenticated`, uuid sub) or throws. */
export function requireUser(claims: Claims): UserClaims {
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (
    claims.role !== "authenticated" || !audiences.includes("authenticated") ||
    !claims.sub || !UUID.test(claims.sub)
  ) {
    throw new AppError("unauthenticated", "A signed-in user's token is required");
  }
  return claims as UserClaims;
}

/** Throws unless the claims are the service role's: for endpoints only machines call. */
export function requireServiceRole(claims: Claims): Claims {
  if (claims.role !== "service_role") {
    throw new AppError("forbidden", "This endpoint is for the service role only");
  }
  return claims;
}

function describeJoseError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "token has expired";
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return "signature mismatch";
  if (error instanceof joseErrors.JWKSNoMatchingKey) return "no matching signing key";
  if (error instanceof joseErrors.JWTClaimValidationFailed) return error.message;
  if (error instanceof joseErrors.JOSEError) return "unable to verify token";
  return "unable to verify token";
}
