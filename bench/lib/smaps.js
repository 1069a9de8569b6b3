'use strict';
// A process's resident memory by kind of mapping, from /proc/PID/smaps, to tell apart what RSS alone cannot: the
// malloc heaps (glibc's brk heap and its per-thread arenas, where the Temporal core and native code allocate), file
// mappings (code), and the other anonymous memory (every V8 isolate's heap pages, thread stacks).
const { readFileSync } = require('node:fs');

/** glibc reserves each non-main arena as one 64 MiB region aligned to its size: a read-write part and the rest. */
const ARENA_BYTES = 64 * 2 ** 20;

/**
 * Parses smaps text into mappings of { start, end, perms, path, rssKiB }. The header line of each mapping is
 * `start-end perms offset dev inode [path]`; its fields follow as `Name: N kB` lines.
 */
function parse(text) {
  const mappings = [];
  for (const line of text.split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (header) {
      mappings.push({
        start: BigInt(`0x${header[1]}`),
        end: BigInt(`0x${header[2]}`),
        perms: header[3],
        inode: Number(header[4]),
        path: header[5],
        rssKiB: 0,
      });
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && mappings.length > 0) mappings.at(-1).rssKiB = Number(rss[1]);
  }
  return mappings;
}

/** Resident MiB by kind: malloc (brk heap and arenas), file, stack (the main thread's), anon (the rest). */
function breakdown(mappings) {
  const kib = { malloc: 0, file: 0, stack: 0, anon: 0 };
  const arena = BigInt(ARENA_BYTES);
  for (let i = 0; i < mappings.length; i++) {
    const m = mappings[i];
    const next = mappings[i + 1];
    const isArena =
      m.path === '' &&
      m.perms.startsWith('rw') &&
      m.start % arena === 0n &&
      (m.end - m.start === arena ||
        (next !== undefined && next.start === m.end && next.perms === '---p' && next.end - m.start === arena));
    if (m.path === '[heap]' || isArena) kib.malloc += m.rssKiB;
    else if (m.inode !== 0 || m.path.startsWith('/')) kib.file += m.rssKiB;
    else if (m.path.startsWith('[stack')) kib.stack += m.rssKiB;
    else kib.anon += m.rssKiB;
  }
  return Object.fromEntries(Object.entries(kib).map(([k, v]) => [k, v / 1024]));
}

/** The breakdown of a live process; undefined when it is gone or its smaps cannot be read. */
function residentByKind(pid) {
  try {
    return breakdown(parse(readFileSync(`/proc/${pid}/smaps`, 'utf8')));
  } catch {
    return undefined;
  }
}

module.exports = { parse, breakdown, residentByKind };
