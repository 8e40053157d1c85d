/**
 * The first module of an isolated function's process (see isolates.ts), playing the edge
 * runtime's part around the function's own `index.ts`: it provides `EdgeRuntime.waitUntil`,
 * makes the `Deno.serve` call of index.ts listen on a free local port, reports that port on
 * stdout as one JSON line, and on SIGTERM lets background work settle before exiting.
 *
 * Usage: deno run --allow-all --import-map=supabase/functions/import_map.json \
 *          local/isolate-boot.ts file:///.../supabase/functions/<name>/index.ts
 */
// deno-lint-ignore-file no-console

/** The line prefix isolates.ts looks for on stdout. */
const READY = "@@local-isolate ";

const entry = Deno.args[0];
if (!entry) {
  console.error("Usage: isolate-boot.ts <function entry URL>");
  Deno.exit(2);
}

const background = new Set<Promise<unknown>>();
(globalThis as { EdgeRuntime?: unknown }).EdgeRuntime = {
  waitUntil<T>(value: T): T {
    if (value instanceof Promise) {
      const tracked: Promise<unknown> = value.catch(() => {}).finally(() =>
        background.delete(tracked)
      );
      background.add(tracked);
    }
    return value;
  },
};

type Handler = (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;
const serve = Deno.serve.bind(Deno);
let servers = 0;
let server: Deno.HttpServer | undefined;

// Deno.serve(handler), Deno.serve(options, handler) and Deno.serve({ handler, ...options }) all
// end up on 127.0.0.1 with a port of our choosing, as the edge runtime ignores the function's.
(Deno as unknown as { serve: (...args: unknown[]) => Deno.HttpServer }).serve = (...args) => {
  const handler = (args.find((a) => typeof a === "function") ??
    (args[0] as { handler?: Handler } | undefined)?.handler) as Handler | undefined;
  if (!handler) throw new TypeError("Deno.serve was called without a handler");
  if (++servers > 1) throw new Error("A function can call Deno.serve only once");
  server = serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => console.log(READY + JSON.stringify({ port })),
  }, handler);
  return server;
};

Deno.addSignalListener("SIGTERM", async () => {
  await server?.shutdown();
  while (background.size > 0) await Promise.allSettled([...background]);
  Deno.exit(0);
});

await import(entry);
if (!server) {
  console.error(`${entry} did not call Deno.serve`);
  Deno.exit(1);
}
