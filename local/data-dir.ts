/**
 * Permissions of the local stack's data folder: it holds the database (refresh tokens, password
 * hashes, Vault secrets, WAL), the JWT keys, the job secret and the stored files, so only its
 * owner may read or write any of it: folders 0700, files 0600, as Postgres itself makes them.
 *
 * - `secureDataDir` creates the folder 0700 (or tightens an existing one), sets the process umask
 *   to 077 so that files the stack creates later are private from the start, and tightens what
 *   an earlier run left behind.
 * - PGlite's file system layer creates its files 0666 whatever the umask (it writes them with an
 *   explicit mode), so `restrictFileModes` also masks the modes PGlite asks for, and
 *   `tightenTree` fixes the files it made while booting. On Windows modes do not apply; nothing
 *   is done there.
 */
import process from "node:process";
import { join } from "node:path";

const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;
const GROUP_AND_OTHERS = 0o077;

const supported = Deno.build.os !== "windows";

/** Creates `dir` (and parents) 0700, sets umask 077 and tightens everything already inside. */
export async function secureDataDir(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
  if (!supported) return;
  process.umask(GROUP_AND_OTHERS);
  await tightenTree(dir);
}

/** chmod: folders 0700, files 0600 (only removing bits, never adding), recursively. */
export async function tightenTree(path: string): Promise<void> {
  if (!supported) return;
  const info = await Deno.lstat(path).catch(() => null);
  if (!info || info.isSymlink) return;
  const mode = (info.mode ?? 0) & 0o777;
  const wanted = info.isDirectory ? mode & PRIVATE_DIR : mode & PRIVATE_FILE;
  if (wanted !== mode) await Deno.chmod(path, wanted);
  if (!info.isDirectory) return;
  for await (const entry of Deno.readDir(path)) {
    await tightenTree(join(path, entry.name));
  }
}

/** The part of Emscripten's FS that decides the modes of new files and folders. */
export interface EmscriptenModeFs {
  mknod(path: string, mode: number, dev: number): unknown;
  mkdir(path: string, mode?: number): unknown;
  chmod(path: string, mode: number, dontFollow?: boolean): unknown;
}

/** Masks group and other bits out of every mode PGlite's file system sets from now on. */
export function restrictFileModes(fs: EmscriptenModeFs): void {
  if (!supported) return;
  const { mknod, mkdir, chmod } = fs;
  fs.mknod = (path, mode, dev) => mknod.call(fs, path, mode & ~GROUP_AND_OTHERS, dev);
  fs.mkdir = (path, mode = PRIVATE_DIR) => mkdir.call(fs, path, mode & ~GROUP_AND_OTHERS);
  fs.chmod = (path, mode, dontFollow) => chmod.call(fs, path, mode & ~GROUP_AND_OTHERS, dontFollow);
}
