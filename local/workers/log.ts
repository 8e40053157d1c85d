/** How the local workers report what happens: one structured event at a time. */
export type WorkerLog = (
  event: { level: "debug" | "info" | "warn" | "error"; msg: string } & Record<string, unknown>,
) => void;
