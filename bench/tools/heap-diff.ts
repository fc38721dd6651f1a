/**
 * `node bench/tools/heap-diff.ts <a.heapsnapshot> <b.heapsnapshot> [per] [rows]`: what heap snapshot
 * a holds that b does not, grouped by kind, divided by `per` (the number of requests in flight, so the
 * figures are bytes and objects per request). Plain objects are grouped by their property names,
 * closures by name and source position, closure contexts by the variables they hold, so a row names
 * the code that allocates it. Used with the scale bench's snapshots (BENCH_SCALE_SNAPSHOT): router
 * minus bare SDK calls is the router's own memory per request in flight.
 *
 * Hand-written: the heap snapshot format is a few flat arrays, and the analysers on npm (memlab's)
 * find leaks between snapshots of one program, not what one program holds over another.
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
      location_fields: string[];
    };
  };
  nodes: number[];
  edges: number[];
  locations: number[];
  strings: string[];
}

type Groups = Map<string, { count: number; bytes: number }>;

function groups(path: string): Groups {
  const snap = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const { meta } = snap.snapshot;
  const nodeFields = meta.node_fields.length;
  const edgeFields = meta.edge_fields.length;
  const types = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const [TYPE, NAME, SELF, EDGES] = ['type', 'name', 'self_size', 'edge_count'].map((f) =>
    meta.node_fields.indexOf(f),
  ) as [number, number, number, number];
  const [E_TYPE, E_NAME, E_TO] = ['type', 'name_or_index', 'to_node'].map((f) =>
    meta.edge_fields.indexOf(f),
  ) as [number, number, number];
  const locationFields = meta.location_fields.length;
  const position = new Map<number, string>();
  for (let i = 0; i < snap.locations.length; i += locationFields) {
    position.set(snap.locations[i]!, `${snap.locations[i + 2]! + 1}:${snap.locations[i + 3]! + 1}`);
  }
  const edgeStart = new Uint32Array(snap.nodes.length / nodeFields + 1);
  for (let n = 0, e = 0; n < snap.nodes.length / nodeFields; n++) {
    edgeStart[n] = e;
    e += snap.nodes[n * nodeFields + EDGES]! * edgeFields;
    edgeStart[n + 1] = e;
  }
  const named = (n: number, edgeName: string): number | undefined => {
    for (let e = edgeStart[n]!; e < edgeStart[n + 1]!; e += edgeFields) {
      if (
        snap.strings[snap.edges[e + E_NAME]!] === edgeName &&
        edgeTypes[snap.edges[e + E_TYPE]!] !== 'element'
      )
        return snap.edges[e + E_TO]! / nodeFields;
    }
    return undefined;
  };
  // A function's file: closure -shared-> SharedFunctionInfo -script-> Script (named by its URL).
  const fileOf = (closure: number | undefined): string => {
    const shared = closure === undefined ? undefined : named(closure, 'shared');
    const script = shared === undefined ? undefined : named(shared, 'script');
    if (script === undefined) return '';
    const url = snap.strings[snap.nodes[script * nodeFields + NAME]!]!;
    return `${url.split('/').slice(-2).join('/')}:`;
  };
  const out: Groups = new Map();
  for (let n = 0; n < snap.nodes.length / nodeFields; n++) {
    const node = n * nodeFields;
    const type = types[snap.nodes[node + TYPE]!]!;
    const name = snap.strings[snap.nodes[node + NAME]!]!;
    // Property names (objects) or variable names (contexts), from this node's named edges.
    const names: string[] = [];
    for (let e = edgeStart[n]!; e < edgeStart[n + 1]!; e += edgeFields) {
      const kind = edgeTypes[snap.edges[e + E_TYPE]!];
      if ((type === 'object' && kind === 'property') || kind === 'context')
        names.push(snap.strings[snap.edges[e + E_NAME]!]!);
    }
    let key = `${type} ${name}`;
    if (type === 'object' && name === 'Object') key = `object {${names.slice(0, 8).join(',')}}`;
    else if (type === 'closure')
      key = `closure ${name || '(anonymous)'} @${fileOf(n)}${position.get(node) ?? '?'}`;
    else if (type === 'object' && name === 'Generator')
      key = `async frame @${fileOf(named(n, 'function'))}${position.get(node) ?? '?'}`;
    else if (name === 'system / Context') key = `context {${names.slice(0, 8).join(',')}}`;
    else if (type === 'string' || type === 'concatenated string' || type === 'sliced string') key = type;
    else if (type === 'number') key = 'heap number';
    const group = out.get(key) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += snap.nodes[node + SELF]!;
    out.set(key, group);
  }
  return out;
}

const [a, b, perArg, rowsArg] = process.argv.slice(2);
if (!a || !b) {
  console.error('usage: node bench/tools/heap-diff.ts <a.heapsnapshot> <b.heapsnapshot> [per] [rows]');
  process.exit(2);
}
const per = Number(perArg ?? 1);
const rows = Number(rowsArg ?? 60);
const ga = groups(a);
const gb = groups(b);
const diff: Array<{ key: string; count: number; bytes: number }> = [];
for (const key of new Set([...ga.keys(), ...gb.keys()])) {
  const x = ga.get(key) ?? { count: 0, bytes: 0 };
  const y = gb.get(key) ?? { count: 0, bytes: 0 };
  diff.push({ key, count: (x.count - y.count) / per, bytes: (x.bytes - y.bytes) / per });
}
diff.sort((p, q) => Math.abs(q.bytes) - Math.abs(p.bytes));
const total = diff.reduce((s, d) => s + d.bytes, 0);
console.log(`${a} - ${b}, per ${per}: ${total.toFixed(0)} bytes`);
for (const d of diff.slice(0, rows)) {
  console.log(`${d.bytes.toFixed(1).padStart(9)} B ${d.count.toFixed(2).padStart(7)}×  ${d.key}`);
}
