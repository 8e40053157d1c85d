/**
 * Notices when the processes that started the local stack go away. `npx deno task start` is a
 * chain: npx (node) -> the deno package's bin.cjs (node, spawnSync) -> `deno task` -> `deno run
 * local/main.ts`. A SIGTERM to npx kills the node processes without passing the signal on, and
 * the stack would keep serving and holding the data folder's lock as an orphan.
 *
 * So at start the launcher chain is recorded: this process and its ancestors as long as their
 * parent is a launcher too (deno, node, npm, npx, or the `sh -c` npm puts between two of them),
 * each with its parent's pid, from /proc. Every
 * `intervalMs` the links are checked: a process that is gone, or whose parent changed (it was
 * orphaned and re-parented), means a launcher died and `onGone` runs once. The shell (or whatever
 * started the launchers) is not watched, so `(npx deno task start &)` and `nohup` keep working.
 * Without /proc (macOS, Windows), only this process's own parent (`Deno.ppid`) is watched.
 */

export interface ParentWatch {
  stop(): void;
}

export function watchParents(onGone: (reason: string) => void, intervalMs = 500): ParentWatch {
  const chain = ancestors(Deno.pid);
  const ownParent = Deno.ppid;
  let fired = false;
  const timer = setInterval(() => {
    const reason = broken(chain, ownParent);
    if (reason === null || fired) return;
    fired = true;
    clearInterval(timer);
    onGone(reason);
  }, intervalMs);
  // The watch alone must not keep the process alive.
  Deno.unrefTimer(timer);
  return { stop: () => clearInterval(timer) };
}

interface Link {
  pid: number;
  ppid: number;
}

/** The launcher chain above `pid` as (pid, parent) links, nearest first; empty without /proc. */
function ancestors(pid: number): Link[] {
  const chain: Link[] = [];
  for (let current = pid; current > 1 && chain.length < 16;) {
    const ppid = parentOf(current);
    if (ppid === null || ppid <= 1) break;
    // npx runs the deno package's bin through `sh -c`: a shell between two launchers counts.
    const grandparent = parentOf(ppid);
    const launcherShell = isShell(ppid) && grandparent !== null && isLauncher(grandparent);
    if (!isLauncher(ppid) && !launcherShell) break;
    chain.push({ pid: current, ppid });
    current = ppid;
  }
  return chain;
}

/** deno, node, npm or npx (npm renames its process "npm exec ..."). */
function isLauncher(pid: number): boolean {
  return /^(deno|node|npm|npx)\b/.test(commOf(pid));
}

function isShell(pid: number): boolean {
  return /^(sh|dash|bash)$/.test(commOf(pid));
}

function commOf(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/comm`).trim();
  } catch {
    return "";
  }
}

function broken(chain: readonly Link[], ownParent: number): string | null {
  if (chain.length === 0) {
    if (hasProc()) return null; // not started by a launcher: nothing to watch
    return Deno.ppid !== ownParent ? `parent process ${ownParent} exited` : null;
  }
  for (const link of chain) {
    const ppid = parentOf(link.pid);
    if (ppid === null) return `parent process ${link.pid} exited`;
    if (ppid !== link.ppid) return `parent process ${link.ppid} exited`;
  }
  return null;
}

function hasProc(): boolean {
  try {
    Deno.statSync("/proc/self");
    return true;
  } catch {
    return false;
  }
}

/** The parent pid of `pid` from /proc/<pid>/stat, or null when there is no such process. */
function parentOf(pid: number): number | null {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  // "pid (comm) state ppid ...": comm may contain spaces and parentheses, so split after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  if (state === "Z" || state === "X") return null; // a zombie has exited already
  const ppid = Number(fields[1]);
  return Number.isInteger(ppid) ? ppid : null;
}
