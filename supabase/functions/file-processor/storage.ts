/**
 * Downloads an object through the Storage API with supabase-js and the service key, as on hosted
 * (locally, `supabaseUrl` is the stack's gateway). Returns null when the object is gone.
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { Config } from "../_shared/config.ts";
import { AppError } from "../_shared/errors.ts";

const clients = new WeakMap<Config, SupabaseClient>();

function storageClient(config: Config): SupabaseClient {
  let client = clients.get(config);
  if (!client) {
    client = createClient(config.supabaseUrl, config.serviceRoleKey, {
      auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    });
    clients.set(config, client);
  }
  return client;
}

/** The object's bytes, or null when it no longer exists. */
export async function downloadObject(
  config: Config,
  bucket: string,
  path: string,
): Promise<Uint8Array | null> {
  const { data, error } = await storageClient(config).storage.from(bucket).download(path);
  if (error) {
    const status = (error as { status?: number; statusCode?: string | number }).status ??
      Number((error as { statusCode?: string | number }).statusCode);
    if (status === 404 || /not.?found/i.test(error.message)) return null;
    throw new AppError("upstream_error", `Could not download "${path}" from storage`, {
      cause: error,
    });
  }
  return new Uint8Array(await data.arrayBuffer());
}
