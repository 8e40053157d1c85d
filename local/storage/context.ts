/** What every Storage operation works with: the session, the keys, the bytes and the limit. */
import type { LocalKeys } from "../keys.ts";
import type { Session } from "../postgres/session.ts";
import type { BlobStore } from "./blobs.ts";

export interface StorageContext {
  session: Session;
  keys: LocalKeys;
  blobs: BlobStore;
  /** The global upload cap in bytes (config.toml [storage] file_size_limit). */
  fileSizeLimit: number;
}
