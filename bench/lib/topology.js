'use strict';
// Where a benchmark's Temporal runs. `dev` (the default): each stack starts a dev server of its own. `cluster`: the
// full Temporal server on PostgreSQL that `scripts/cluster.sh up` runs, found through `scripts/cluster.sh env`
// (or TEMPORAL_ADDRESS, when set), shared by the stacks, each with its own task queue, workers and API.
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

/** Temporal's services, each a process of its own on the cluster: their CPU is reported apart. */
const TEMPORAL_SERVICES = ['frontend', 'history', 'matching', 'worker'];

/** `frontend:123,history:456,...` (scripts/cluster.sh env's POET_CLUSTER_TEMPORAL_PIDS) as { frontend: 123, ... }. */
function parseServicePids(text) {
  const pids = {};
  for (const entry of text.split(',').filter(Boolean)) {
    const [service, pid] = entry.split(':');
    if (!TEMPORAL_SERVICES.includes(service) || !/^\d+$/.test(pid ?? ''))
      throw new Error(`--topology cluster: ${entry} is not <service>:<pid> of ${TEMPORAL_SERVICES.join(', ')}`);
    pids[service] = Number(pid);
  }
  return pids;
}

/** The pids of the services scripts/cluster.sh recorded; every one must be running. */
function recordedServicePids(text) {
  const pids = parseServicePids(text);
  const missing = TEMPORAL_SERVICES.filter((service) => !pids[service]);
  if (missing.length)
    throw new Error(`--topology cluster: Temporal's ${missing.join(', ')} not running; scripts/cluster.sh up`);
  return pids;
}

/**
 * The cluster's Temporal settings and the pids of its server processes, whose CPU the benchmarks count. Settings:
 * TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE) when set, else `scripts/cluster.sh env` (POET_CLUSTER_TEMPORAL_ADDRESS).
 * Pids: TEMPORAL_SERVER_PIDS when set (comma-separated pids, or <service>:<pid> entries), else those of each
 * service the script recorded (POET_CLUSTER_TEMPORAL_PIDS), else whatever listens on the frontend's port. `services`
 * maps each service to its pid when the pids are known by service. Databases on the machine's PostgreSQL
 * whose backends' CPU `cpu` reports: TEMPORAL_DATABASES, by default the script's and Temporal's default names.
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
  const address = process.env.TEMPORAL_ADDRESS ?? exported.POET_CLUSTER_TEMPORAL_ADDRESS ?? exported.TEMPORAL_ADDRESS;
  if (!address) throw new Error('--topology cluster: scripts/cluster.sh env printed no Temporal address');
  const env = { TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE ?? 'default' };
  let services;
  let pids = [];
  const given = process.env.TEMPORAL_SERVER_PIDS;
  if (given?.includes(':')) services = parseServicePids(given);
  else if (given) pids = given.split(',').map(Number);
  else if (exported.POET_CLUSTER_TEMPORAL_PIDS !== undefined)
    services = recordedServicePids(exported.POET_CLUSTER_TEMPORAL_PIDS);
  if (services) pids = Object.values(services);
  if (pids.length === 0) pids.push(...pidsListeningOn(Number(address.split(':').pop())));
  if (pids.length === 0) throw new Error(`--topology cluster: no process of this machine listens on ${address}`);
  const databases = (
    process.env.TEMPORAL_DATABASES ?? 'poet_temporal,poet_temporal_visibility,temporal,temporal_visibility'
  ).split(',');
  cluster = { env, serverPids: pids, services, databases };
  return cluster;
}

module.exports = { TOPOLOGIES, clusterTemporal, parseExports, parseServicePids, pidsListeningOn };
