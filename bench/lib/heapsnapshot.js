'use strict';
// Node counts and self sizes by constructor in a V8 .heapsnapshot, and the difference between two of them: what the
// soak uses to tell a leak (some constructor's count growing with the requests served) from a collector that is
// merely lazy (a snapshot collects garbage first, so its total is the heap in use after a full GC).
//
// A worker's snapshot can exceed V8's largest string, so the file is read as bytes and only the parts needed are
// decoded: the meta header, the flat `nodes` array and the `strings` table.
const { readFileSync } = require('node:fs');

function parseInts(buf, from, count) {
  const out = new Float64Array(count);
  let i = 0;
  let n = -1;
  for (let p = from; i < count; p++) {
    const c = buf[p];
    if (c >= 48 && c <= 57) n = (n < 0 ? 0 : n * 10) + (c - 48);
    else if (n >= 0) {
      out[i++] = n;
      n = -1;
      if (c === 93) break; // ]
    } else if (c === 93) break;
  }
  if (i !== count) throw new Error(`heap snapshot: ${i} node fields, expected ${count}`);
  return out;
}

function parseStrings(buf, from) {
  const strings = [];
  let p = from;
  for (;;) {
    while (buf[p] !== 34 && buf[p] !== 93) p++; // " or ]
    if (buf[p] === 93) return strings;
    let end = p + 1;
    while (buf[end] !== 34) end += buf[end] === 92 ? 2 : 1; // skip escapes
    strings.push(JSON.parse(buf.toString('utf8', p, end + 1)));
    p = end + 1;
  }
}

const STRING_TYPES = new Set(['string', 'concatenated string', 'sliced string']);

/** What DevTools' summary groups by: an object's constructor, a closure's function, otherwise the node's type. */
function groupOf(type, name) {
  if (type === 'object' || type === 'native') return name;
  if (STRING_TYPES.has(type)) return '(string)';
  if (type === 'closure') return `(closure) ${name.slice(0, 60)}`;
  if (type === 'array' || type === 'hidden' || type === 'object shape') return `(${type}) ${name.slice(0, 60)}`;
  return `(${type})`;
}

/** { nodes, bytes, groups: Map(name -> { count, size }) } of one snapshot file. */
function summarize(file) {
  const buf = readFileSync(file);
  const nodesAt = buf.indexOf('"nodes":[');
  const head = buf.toString('utf8', 0, nodesAt).replace(/,\s*$/, '');
  const { meta, node_count: nodeCount } = JSON.parse(`${head}}`).snapshot;
  const fields = meta.node_fields;
  const types = meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const nodes = parseInts(buf, nodesAt + '"nodes":['.length, nodeCount * fields.length);
  const strings = parseStrings(buf, buf.lastIndexOf('"strings":[') + '"strings":['.length);
  const groups = new Map();
  let bytes = 0;
  for (let i = 0; i < nodes.length; i += fields.length) {
    const key = groupOf(types[nodes[i + typeAt]], strings[nodes[i + nameAt]] ?? '');
    const size = nodes[i + sizeAt];
    bytes += size;
    const g = groups.get(key);
    if (g) {
      g.count++;
      g.size += size;
    } else groups.set(key, { count: 1, size });
  }
  return { nodes: nodeCount, bytes, groups };
}

/** Per group, last minus first: the `top` largest growths in bytes and in count. */
function diff(first, last, top = 15) {
  const names = new Set([...first.groups.keys(), ...last.groups.keys()]);
  const rows = [...names].map((name) => {
    const a = first.groups.get(name) ?? { count: 0, size: 0 };
    const b = last.groups.get(name) ?? { count: 0, size: 0 };
    return {
      name,
      countBefore: a.count,
      countAfter: b.count,
      countDelta: b.count - a.count,
      sizeDelta: b.size - a.size,
      sizeAfter: b.size,
    };
  });
  return {
    bytesDelta: last.bytes - first.bytes,
    nodesDelta: last.nodes - first.nodes,
    bySize: [...rows].sort((x, y) => y.sizeDelta - x.sizeDelta).slice(0, top),
    byCount: [...rows].sort((x, y) => y.countDelta - x.countDelta).slice(0, top),
  };
}

module.exports = { summarize, diff };

if (require.main === module) {
  // node bench/lib/heapsnapshot.js FIRST LAST: the difference between two snapshots, as JSON.
  const [a, b] = process.argv.slice(2).map(summarize);
  console.log(JSON.stringify(diff(a, b), null, 2));
}
