// Composition root: wires the hosted dependencies and serves the app.
import { loadDeps } from "../_shared/deps.ts";
import { createApp } from "./app.ts";

Deno.serve(createApp(loadDeps()).fetch);
