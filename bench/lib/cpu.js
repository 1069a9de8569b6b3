'use strict';
const { readFileSync, readdirSync } = require('node:fs');

/** User + system CPU seconds from /proc/<pid>/stat (clock ticks of 1/100 s on Linux): its own and its reaped children's. */
function procStat(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  return { self: (f[11] + f[12]) / 100, reaped: (f[13] + f[14]) / 100 };
}

/** Pids of the live children of `pid` (those of every thread). */
function liveChildren(pid) {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
    try {
      return readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
    } catch {
      return []; // the thread ended meanwhile
    }
  });
}

/**
 * CPU seconds a process has used, user + system: `self`, and `children` for its reaped children plus its live
 * ones with their own reaped children (the worker's python3 sandbox fork server and parser are long-lived children).
 */
function cpuSeconds(pid) {
  const { self, reaped } = procStat(pid);
  let children = reaped;
  for (const child of liveChildren(pid)) {
    try {
      const stat = procStat(child);
      children += stat.self + stat.reaped;
    } catch {
      // exited meanwhile: counted in `reaped` from the next reading on
    }
  }
  return { self, children };
}

module.exports = { cpuSeconds };
