/**
 * Object bytes on disk. Each write gets a fresh version id (a uuid minted here) and the file is
 * named by that id alone, `<dir>/<first two hex digits>/<version>`: the caller's object name never
 * reaches the file system, so no name can escape the folder. A row in storage.objects points at
 * its bytes through `version`; replacing or deleting a row leaves the old file to be removed once
 * the transaction has committed (see objects.ts).
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { isUuid } from "./names.ts";

export interface StoredBlob {
  version: string;
  size: number;
  /** The S3-style ETag: the MD5 of the bytes in hex, in double quotes. */
  eTag: string;
  /** True when the bytes exceeded the limit; nothing is kept then. */
  tooLarge: boolean;
}

export class BlobStore {
  constructor(readonly dir: string) {}

  /** The file of a version; throws on anything but a uuid. */
  path(version: string): string {
    if (!isUuid(version)) throw new Error(`Not a blob version: "${version}"`);
    return join(this.dir, version.slice(0, 2), version);
  }

  /**
   * Streams `body` into a new version. Past `limit` bytes it stops writing, drains the rest (so
   * the client can finish sending and read the error) and reports `tooLarge`.
   */
  async write(body: ReadableStream<Uint8Array> | null, limit: number): Promise<StoredBlob> {
    const version = crypto.randomUUID();
    const path = this.path(version);
    await Deno.mkdir(join(path, ".."), { recursive: true });
    const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
    const md5 = createHash("md5");
    let size = 0;
    let tooLarge = false;
    try {
      if (body) {
        for await (const chunk of body) {
          size += chunk.byteLength;
          if (tooLarge) continue;
          if (size > limit) {
            tooLarge = true;
            continue;
          }
          md5.update(chunk);
          await writeAll(file, chunk);
        }
      }
    } catch (error) {
      file.close();
      await this.remove(version);
      throw error;
    }
    file.close();
    if (tooLarge) await this.remove(version);
    return { version, size, eTag: `"${md5.digest("hex")}"`, tooLarge };
  }

  /** Copies a version's bytes into a new version. */
  async copy(fromVersion: string): Promise<string> {
    const version = crypto.randomUUID();
    const path = this.path(version);
    await Deno.mkdir(join(path, ".."), { recursive: true });
    await Deno.copyFile(this.path(fromVersion), path);
    return version;
  }

  /** Opens a version for reading, or returns null when its file is gone. */
  async open(version: string): Promise<Deno.FsFile | null> {
    try {
      return await Deno.open(this.path(version), { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    }
  }

  async exists(version: string): Promise<boolean> {
    try {
      await Deno.stat(this.path(version));
      return true;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw error;
    }
  }

  /** Removes a version's file; a missing file is not an error. */
  async remove(version: string | null | undefined): Promise<void> {
    if (!version || !isUuid(version)) return;
    try {
      await Deno.remove(this.path(version));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }

  /** Removes many versions, best effort: a failure here must not undo a committed change. */
  async removeAll(versions: Iterable<string | null | undefined>): Promise<void> {
    await Promise.allSettled([...versions].map((version) => this.remove(version)));
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) {
    written += await file.write(bytes.subarray(written));
  }
}
