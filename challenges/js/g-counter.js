// Challenge 4: a grow-only counter kept in Maelstrom's seq-kv. A port of
// challenges/g-counter (Rust): the same keys, values and handoff state, so Rust and
// JS nodes mix in one cluster and replace each other in a live swap.
//
// Each node owns one key, `count-<node>`, holding `[count, tag]`, and is its only
// writer; the counter is the sum of every node's key. Adds are batched: while one
// compare-and-set is in flight new adds wait for the next one, and an `add_ok` goes
// out only once a compare-and-set carrying its delta succeeded. A compare-and-set
// that timed out may still have happened: reading the key back and finding the
// batch's tag says it did. A `read` first writes `barrier-<node>` (seq-kv then shows
// this node nothing older), then reads every key; counts only grow, so the highest
// count seen per key is kept.
import { MaelstromError, Node, code, randomSafe, seqKV } from '../../sdk/js/glomers.js';

/** How long to wait before retrying after seq-kv failed in a way that is not a plain conflict. */
const BACKOFF_MS = 50;

const countKey = (node) => `count-${node}`;
const barrierKey = (node) => `barrier-${node}`;

/**
 * The handoff state, field for field Rust's `Counter` as serde_json writes it.
 * @typedef {{ boot: number, next_tag: number, mine: [number, string] | null,
 *   unflushed: number, adds: Array<{src: string, msg_id: number | null, body: {delta: number}}>,
 *   flushing: boolean, seen: Record<string, number>,
 *   reads: Array<{src: string, msg_id: number | null, body: any}>, refreshing: boolean }} Counter
 */

/** @returns {Counter} */
function fresh() {
  return {
    // Below 2^53, so it survives JSON in every language exactly.
    boot: randomSafe(),
    next_tag: 0,
    mine: null,
    unflushed: 0,
    adds: [],
    flushing: false,
    seen: {},
    reads: [],
    refreshing: false,
  };
}

function tag(s, me) {
  s.next_tag += 1;
  return `${me}-${s.boot.toString(16)}-${s.next_tag}`;
}

function total(s, me) {
  let sum = Math.max(s.mine ? s.mine[0] : 0, s.seen[me] ?? 0);
  for (const [node, n] of Object.entries(s.seen)) if (node !== me) sum += n;
  return Math.min(sum, Number.MAX_SAFE_INTEGER);
}

/** A stored `[count, tag]`; anything else is a malformed value (retried, as Rust does). */
function entry(v) {
  if (Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && v[0] >= 0 && typeof v[1] === 'string') {
    return v;
  }
  throw MaelstromError.malformed(`not a [count, tag]: ${JSON.stringify(v)}`);
}

/** Only Maelstrom errors are retried; anything else is a bug, and crashes the node. */
function retryable(e) {
  if (!(e instanceof MaelstromError)) throw e;
  return e;
}

export default function node() {
  const n = new Node().handoff();
  n.state = fresh();

  n.onRestore(() => resume(n));

  n.on('add', { delta: 'uint' }, (req) => {
    const s = n.state;
    const { delta } = req.body;
    if (delta === 0) return { type: 'add_ok' };
    const committed = s.mine ? s.mine[0] : 0;
    if (s.unflushed + delta + committed > Number.MAX_SAFE_INTEGER) {
      throw MaelstromError.malformed('the counter would pass 2^53 - 1');
    }
    s.unflushed += delta;
    s.adds.push({ src: req.src, msg_id: req.msg_id, body: { delta } });
    if (!s.flushing) {
      s.flushing = true;
      n.spawn(flush(n));
    }
    return undefined;
  });

  n.on('read', (req) => {
    const s = n.state;
    s.reads.push({ src: req.src, msg_id: req.msg_id, body: req.body });
    if (!s.refreshing) {
      s.refreshing = true;
      n.spawn(refresh(n));
    }
    return undefined;
  });

  return n;
}

/**
 * After a live swap: the old version's tasks are gone. The batch a flush had in
 * flight may or may not have landed, so this node's key is read back first; waiting
 * adds and reads get a task again.
 */
function resume(n) {
  const s = n.state;
  // A Rust node draws `boot` from the whole u64 range, which a JS number may not hold
  // exactly. It only keeps this node's tags unique across restarts, and no tag made
  // with it is still in use (`mine` is read back, waiting adds get a new tag), so a
  // fresh draw does the same job.
  if (!Number.isSafeInteger(s.boot)) s.boot = randomSafe();
  s.mine = null;
  s.flushing = s.adds.length > 0;
  if (s.flushing) n.spawn(flush(n));
  s.refreshing = s.reads.length > 0;
  if (s.refreshing) n.spawn(refresh(n));
}

/** Moves waiting adds into this node's key, one compare-and-set per batch, until none wait. */
async function flush(n) {
  const s = n.state;
  const kv = seqKV(n);
  const me = n.id;
  const key = countKey(me);
  for (;;) {
    if (s.adds.length === 0) {
      s.flushing = false;
      return;
    }
    const t = tag(s, me);
    const delta = s.unflushed;
    const adds = s.adds;
    s.unflushed = 0;
    s.adds = [];
    for (;;) {
      let from = s.mine;
      if (from === null) {
        try {
          from = entry(await kv.readOr(key, [0, '']));
        } catch (e) {
          retryable(e);
          await n.sleep(BACKOFF_MS);
          continue;
        }
      }
      if (from[1] === t) {
        // An earlier attempt that timed out did happen.
        s.mine = from;
        break;
      }
      const to = [from[0] + delta, t];
      try {
        await kv.cas(key, from, to, true);
        s.mine = to;
        break;
      } catch (e) {
        retryable(e);
        // Whatever happened, the key is no longer known: read it back.
        s.mine = null;
        if (e.code !== code.PRECONDITION_FAILED) await n.sleep(BACKOFF_MS);
      }
    }
    for (const req of adds) n.reply(req, { type: 'add_ok' });
  }
}

/** Serves waiting reads, one barrier and one read per key per round, until none wait. */
async function refresh(n) {
  const s = n.state;
  const kv = seqKV(n);
  const me = n.id;
  for (;;) {
    if (s.reads.length === 0) {
      s.refreshing = false;
      return;
    }
    const reads = s.reads;
    s.reads = [];
    for (;;) {
      try {
        await kv.write(barrierKey(me), tag(s, me));
        break;
      } catch (e) {
        retryable(e);
        await n.sleep(BACKOFF_MS);
      }
    }
    for (const node of n.nodeIds) {
      // This node's own count is known here unless it restarted.
      if (node === me && s.mine !== null) continue;
      let e;
      for (;;) {
        try {
          e = entry(await kv.readOr(countKey(node), [0, '']));
          break;
        } catch (err) {
          retryable(err);
          await n.sleep(BACKOFF_MS);
        }
      }
      s.seen[node] = Math.max(s.seen[node] ?? 0, e[0]);
    }
    const value = total(s, me);
    for (const req of reads) n.reply(req, { type: 'read_ok', value });
  }
}
