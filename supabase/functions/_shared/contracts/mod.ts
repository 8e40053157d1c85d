/**
 * The request and response contracts of the functions, as zod schemas and their types. Functions
 * import them from here; client apps import them from the top-level `shared/` module.
 */
export type { ErrorBody, ErrorCode } from "../errors.ts";
export { codeForStatus, STATUS_BY_CODE } from "../errors.ts";
export * from "./analytics-tracker.ts";
export * from "./cleanup-old.ts";
export * from "./execute-agent.ts";
export * from "./file-processor.ts";
export * from "./message-preprocess.ts";
export * from "./whoami.ts";
