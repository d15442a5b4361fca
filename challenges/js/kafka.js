// Challenge 5: a Kafka-style log. Two designs, as in challenges/kafka (Rust), chosen
// by a guest argument: by default (5a, 5c) every key has an owner node (FNV-1a of
// the key over the node ids) that keeps its log and committed offset in memory and
// answers for it, others forward to it; with `--lin-kv` (5b) the logs live in
// lin-kv (`log-<key>`, appended by compare-and-set; `committed-<key>`). Same
// messages, keys and handoff state as Rust, so the two mix in one cluster.
import { MaelstromError, Node, code, isRetryable, linKV } from '../../sdk/js/glomers.js';

/** How long a forwarded request or a lin-kv operation may take. */
const RPC_TIMEOUT_MS = 1000;

/** `[offset, msg]` pairs of `log` from offset `from` on. */
function entries(log, from) {
  const out = [];
  for (let o = Math.max(0, from); o < log.length; o += 1) out.push([o, log[o]]);
  return out;
}

/** FNV-1a 64: stable across nodes, runs and languages. */
export function owner(key, ids) {
  if (ids.length === 0) return null;
  let h = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(key)) {
    h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return ids[Number(h % BigInt(ids.length))];
}

/** JSON values compared as serde_json's `Value` does. */
function same(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && same(a[k], b[k]));
}

const SEND = { key: 'string', msg: 'any' };
const OFFSETS = { offsets: 'integer{}' };
const KEYS = { keys: 'string[]' };

export default function node(args) {
  const lin = args ? args.flag('--lin-kv') : false;
  return lin ? linKvNode() : ownersNode();
}

// --- owners (5a, 5c) ---------------------------------------------------------------

export function ownersNode() {
  const n = new Node().handoff();
  // Rust's `Owned`: {logs: {key: [msg]}, committed: {key: offset}}.
  n.state = { logs: {}, committed: {} };

  const append = (key, msg) => {
    const log = (n.state.logs[key] ??= []);
    log.push(msg);
    return log.length - 1;
  };
  const poll = (offsets) => {
    const out = {};
    for (const [k, from] of offsets) {
      const log = n.state.logs[k];
      if (log) {
        const pairs = entries(log, from);
        if (pairs.length > 0) out[k] = pairs;
      }
    }
    return out;
  };
  /** Groups [key, v] items by owner: this node's own, and every other owner's (sorted). */
  const split = (items) => {
    const mine = [];
    const theirs = new Map();
    for (const [k, v] of items) {
      const o = owner(k, n.nodeIds);
      if (o !== null && o !== n.id) {
        if (!theirs.has(o)) theirs.set(o, []);
        theirs.get(o).push([k, v]);
      } else {
        mine.push([k, v]);
      }
    }
    return { mine, theirs: [...theirs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) };
  };
  /**
   * One request per other owner, all in flight at once; their `field` maps merged
   * into `merged`. The first failure is the answer instead.
   */
  const gather = async (bodies, field, merged) => {
    const calls = bodies.map(([dest, body]) => n.call(dest, body, RPC_TIMEOUT_MS));
    for (const c of calls) c.catch(() => {}); // awaited below, in order
    for (const c of calls) {
      const r = await c;
      const m = r.body[field];
      if (m && typeof m === 'object' && !Array.isArray(m)) Object.assign(merged, m);
    }
    return merged;
  };
  const sortedEntries = (o) => Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

  return n
    .on('send', SEND, async (req) => {
      const { key, msg } = req.body;
      const o = owner(key, n.nodeIds);
      if (o === null || o === n.id) return { type: 'send_ok', offset: append(key, msg) };
      const r = await n.call(o, { type: 'send', key, msg }, RPC_TIMEOUT_MS);
      const { offset } = r.body;
      if (!Number.isSafeInteger(offset) || offset < 0) {
        // The owner may have appended it: an indefinite error.
        throw MaelstromError.crash(`${o} answered a send without an offset`);
      }
      return { type: 'send_ok', offset };
    })
    .on('poll', OFFSETS, async (req) => {
      const { mine, theirs } = split(sortedEntries(req.body.offsets));
      const msgs = poll(mine);
      const bodies = theirs.map(([o, part]) => [o, { type: 'poll', offsets: Object.fromEntries(part) }]);
      return { type: 'poll_ok', msgs: await gather(bodies, 'msgs', msgs) };
    })
    .on('commit_offsets', OFFSETS, async (req) => {
      const { mine, theirs } = split(sortedEntries(req.body.offsets));
      for (const [k, o] of mine) n.state.committed[k] = Math.max(n.state.committed[k] ?? o, o);
      const bodies = theirs.map(([o, part]) => [o, { type: 'commit_offsets', offsets: Object.fromEntries(part) }]);
      await gather(bodies, 'offsets', {});
      return { type: 'commit_offsets_ok' };
    })
    .on('list_committed_offsets', KEYS, async (req) => {
      const { mine, theirs } = split(req.body.keys.map((k) => [k, null]));
      const offsets = {};
      for (const [k] of mine) if (Object.hasOwn(n.state.committed, k)) offsets[k] = n.state.committed[k];
      const bodies = theirs.map(([o, part]) => [o, { type: 'list_committed_offsets', keys: part.map(([k]) => k) }]);
      return { type: 'list_committed_offsets_ok', offsets: await gather(bodies, 'offsets', offsets) };
    });
}

// --- lin-kv (5b) -------------------------------------------------------------------

const logKey = (k) => `log-${k}`;
const commitKey = (k) => `committed-${k}`;

/** No state: everything lives in lin-kv (the handoff carries the ids and counters). */
export function linKvNode() {
  const n = new Node().handoff({ save: () => null, load: () => {} });
  const kv = () => linKV(n, RPC_TIMEOUT_MS);

  const asLog = (v) => {
    if (!Array.isArray(v)) throw MaelstromError.malformed(`log is not an array: ${JSON.stringify(v)}`);
    return v;
  };

  return n
    // Appends to the key's log by compare-and-set; the index is the offset.
    .on('send', SEND, async (req) => {
      const key = logKey(req.body.key);
      const { msg } = req.body;
      // After a compare-and-set that timed out, the log may already hold the message.
      let maybeFrom = null;
      for (;;) {
        let log;
        try {
          log = asLog(await kv().readOr(key, []));
        } catch (e) {
          if (isRetryable(e)) continue;
          throw e;
        }
        if (maybeFrom !== null) {
          const from = maybeFrom;
          maybeFrom = null;
          const i = log.slice(from).findIndex((m) => same(m, msg));
          if (i >= 0) return { type: 'send_ok', offset: from + i };
        }
        try {
          await kv().cas(key, log, [...log, msg], true);
          return { type: 'send_ok', offset: log.length };
        } catch (e) {
          if (e instanceof MaelstromError && e.code === code.TIMEOUT) maybeFrom = log.length;
          else if (!isRetryable(e)) throw e;
        }
      }
    })
    // Reads every polled key's log, all reads in flight at once.
    .on('poll', OFFSETS, async (req) => {
      const calls = Object.entries(req.body.offsets)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, from]) => [k, from, n.call('lin-kv', { type: 'read', key: logKey(k) }, RPC_TIMEOUT_MS)]);
      for (const [, , c] of calls) c.catch(() => {});
      const msgs = {};
      for (const [k, from, c] of calls) {
        try {
          const r = await c;
          const log = Array.isArray(r.body.value) ? r.body.value : [];
          const pairs = entries(log, from);
          if (pairs.length > 0) msgs[k] = pairs;
        } catch (e) {
          if (!(e instanceof MaelstromError && e.code === code.KEY_DOES_NOT_EXIST)) throw e;
        }
      }
      return { type: 'poll_ok', msgs };
    })
    // Raises each key's committed offset in lin-kv (never lowers it).
    .on('commit_offsets', OFFSETS, async (req) => {
      const offsets = Object.entries(req.body.offsets).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      for (const [k, o] of offsets) {
        const key = commitKey(k);
        for (;;) {
          let cur;
          try {
            cur = await kv().read(key);
            if (!Number.isSafeInteger(cur)) throw MaelstromError.malformed(`not an offset: ${JSON.stringify(cur)}`);
          } catch (e) {
            if (e instanceof MaelstromError && e.code === code.KEY_DOES_NOT_EXIST) cur = null;
            else if (isRetryable(e)) continue;
            else throw e;
          }
          if (cur !== null && cur >= o) break;
          try {
            if (cur !== null) await kv().cas(key, cur, o, false);
            else await kv().cas(key, -1, o, true);
            break;
          } catch (e) {
            if (!isRetryable(e)) throw e;
          }
        }
      }
      return { type: 'commit_offsets_ok' };
    })
    // Reads the committed offsets of the keys, all at once.
    .on('list_committed_offsets', KEYS, async (req) => {
      const calls = req.body.keys.map((k) => [k, n.call('lin-kv', { type: 'read', key: commitKey(k) }, RPC_TIMEOUT_MS)]);
      for (const [, c] of calls) c.catch(() => {});
      const offsets = {};
      for (const [k, c] of calls) {
        try {
          const r = await c;
          if (Number.isSafeInteger(r.body.value)) offsets[k] = r.body.value;
        } catch (e) {
          if (!(e instanceof MaelstromError && e.code === code.KEY_DOES_NOT_EXIST)) throw e;
        }
      }
      return { type: 'list_committed_offsets_ok', offsets };
    });
}
