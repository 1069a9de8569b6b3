'use strict';
// Where a benchmark's Temporal runs. `dev` (the default): each stack starts a dev server of its own. `cluster`: the
// full Temporal server on PostgreSQL that `scripts/cluster.sh up` runs, found through `scripts/cluster.sh env`
// (or TEMPORAL_ADDRESS, when set), shared by the stacks, each on its own task queue.
const { execFileSync } = require('node:child_process');
const { existsSync, readFileSync, readdirSync, readlinkSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const TOPOLOGIES = ['dev', 'cluster'];

/** `export NAME=value` lines (values optionally quoted), as `scripts/cluster.sh env` prints them. */
function parseExports(text) {
  const env = {};
  for (const line of text.split('\n')) {
    const match = /^\s*export\s+([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match) env[match[1]] = match[2].trim().replace(/^(['"])(.*)\1$/, '$2');
  }
  return env;
}

/** Inodes of the TCP sockets listening on `port` (IPv4 and IPv6), from /proc/net. */
function listeningInodes(port) {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // f[1] local address:port, f[3] state (0A: listening), f[9] inode
      if (f.length > 9 && f[1].endsWith(`:${hexPort}`) && f[3] === '0A') inodes.add(f[9]);
    }
  }
  return inodes;
}

/** The pids holding a socket that listens on `port`: the Temporal server behind an address. */
function pidsListeningOn(port) {
  const inodes = listeningInodes(port);
  const pids = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const fds = readdirSync(`/proc/${pid}/fd`);
      if (fds.some((fd) => inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1])))
        pids.push(Number(pid));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

let cluster;

/**
 * The cluster's Temporal settings (the TEMPORAL_* exports of `scripts/cluster.sh env`, or TEMPORAL_ADDRESS and
 * TEMPORAL_NAMESPACE from the environment) and the pids of its server processes, whose CPU the benchmarks count:
 * TEMPORAL_SERVER_PIDS (comma-separated) when the services run apart, else whatever listens on the frontend port;
 * and its databases on the machine's PostgreSQL (TEMPORAL_DATABASES, default temporal,temporal_visibility).
 */
function clusterTemporal() {
  if (cluster) return cluster;
  let exported = {};
  if (!process.env.TEMPORAL_ADDRESS) {
    const script = path.join(root, 'scripts', 'cluster.sh');
    if (!existsSync(script))
      throw new Error('--topology cluster: set TEMPORAL_ADDRESS, or bring the cluster up with scripts/cluster.sh up');
    exported = parseExports(execFileSync('bash', [script, 'env'], { cwd: root, encoding: 'utf8' }));
  }
  // The cluster's address and namespace (and TLS, if any); each stack keeps its own task queue.
  const env = Object.fromEntries(
    Object.entries({ ...exported, ...process.env }).filter(
      ([name]) => name.startsWith('TEMPORAL_') && !['TEMPORAL_TASK_QUEUE', 'TEMPORAL_CLI_PATH'].includes(name),
    ),
  );
  if (!env.TEMPORAL_ADDRESS) throw new Error('--topology cluster: scripts/cluster.sh env printed no TEMPORAL_ADDRESS');
  const pids = env.TEMPORAL_SERVER_PIDS
    ? env.TEMPORAL_SERVER_PIDS.split(',').map(Number)
    : pidsListeningOn(Number(env.TEMPORAL_ADDRESS.split(':').pop()));
  if (pids.length === 0)
    throw new Error(`--topology cluster: no process of this machine listens on ${env.TEMPORAL_ADDRESS}`);
  // Temporal's persistence and visibility databases, whose backends' CPU the cpu benchmark reports.
  const databases = (env.TEMPORAL_DATABASES ?? 'temporal,temporal_visibility').split(',');
  delete env.TEMPORAL_SERVER_PIDS;
  delete env.TEMPORAL_DATABASES;
  cluster = { env, serverPids: pids, databases };
  return cluster;
}

module.exports = { TOPOLOGIES, clusterTemporal, parseExports };
