// The broadcast protocol as a pure state machine: a port of challenges/broadcast/src/
// core.rs, message for message and field for field (its handoff state is what serde
// writes for Rust's `Core`), so Rust and JS nodes mix in one cluster.
//
// Shape: a star. A value broadcast at a leaf goes "up" to the hub (at once, or in a
// batch); the hub sends it "down" to everyone else in one batch per period. Every
// batch travels over a reliable link: a per-link sequence number, acknowledgements
// riding on the next message that way (or alone after `ack_ms`), and a resend of the
// values of a batch not acknowledged within `rto_ms`. Hubs are the first `hubs`
// nodes of `init`; a leaf whose hub stops answering sends up to the next one.

/**
 * @typedef {{ down_ms: number, up_ms: number, lead_ms: number, tick_ms: number,
 *             rto_ms: number, ack_ms: number, hubs: number }} Config
 * @typedef {{ seq?: number, up?: number[], down?: number[], acks?: number[] }} Gossip
 * @typedef {['send', string, Gossip] | ['arm-up', number]} Out
 */

/** @returns {Config} */
export function defaultConfig() {
  return { down_ms: 100, up_ms: 0, lead_ms: 0, tick_ms: 100, rto_ms: 2000, ack_ms: 1000, hubs: 3 };
}

/**
 * Claims the knobs from the guest arguments (`--down-ms 150`; `--batch-ms` is the
 * old name of `--down-ms`). A bad value keeps the default; the parser reports it.
 * @param {import('../../../sdk/js/glomers.js').Args} args
 * @returns {Config}
 */
export function configFromArgs(args) {
  const d = defaultConfig();
  const batch = args.uint('--batch-ms', undefined);
  const down = args.uint('--down-ms', undefined);
  return {
    down_ms: Math.max(1, down ?? batch ?? d.down_ms),
    up_ms: args.uint('--up-ms', d.up_ms),
    lead_ms: args.uint('--lead-ms', d.lead_ms),
    tick_ms: Math.max(1, args.uint('--tick-ms', d.tick_ms)),
    rto_ms: Math.max(1, args.uint('--rto-ms', d.rto_ms)),
    ack_ms: args.uint('--ack-ms', d.ack_ms),
    hubs: Math.max(1, args.uint('--hubs', d.hubs)),
  };
}

/** The one inter-node message as it goes on the wire: empty fields are left out. */
export function gossipBody(g) {
  const b = { type: 'gossip' };
  if (g.seq !== undefined && g.seq !== null) b.seq = g.seq;
  if (g.up?.length) b.up = g.up;
  if (g.down?.length) b.down = g.down;
  if (g.acks?.length) b.acks = g.acks;
  return b;
}

const byNumber = (a, b) => a - b;
const sortedDedup = (xs) => {
  const s = xs.slice().sort(byNumber);
  return s.filter((v, i) => i === 0 || v !== s[i - 1]);
};

/** Our side of the link to one peer. */
class Link {
  constructor() {
    /** @type {number[]} */ this.up = [];
    /** @type {number[]} */ this.down = [];
    this.next_seq = 0;
    /** seq -> batch, in seq order @type {Map<number, {sent_at: number, up: number[], down: number[]}>} */
    this.inflight = new Map();
    /** @type {number[]} */ this.owed = [];
    /** @type {number | null} */ this.owed_since = null;
    /** Timeouts since we last heard from the peer. */
    this.failures = 0;
  }
  hasData() {
    return this.up.length > 0 || this.down.length > 0;
  }
  /** A peer that timed out and has not been heard from since gets one batch in flight at a time. */
  stalled() {
    return this.failures > 0 && this.inflight.size > 0;
  }
  toJSON() {
    const inflight = {};
    for (const [seq, b] of this.inflight) inflight[seq] = b;
    return {
      up: this.up, down: this.down, next_seq: this.next_seq, inflight,
      owed: this.owed, owed_since: this.owed_since, failures: this.failures,
    };
  }
  static fromJSON(j) {
    const l = new Link();
    l.up = j.up.slice();
    l.down = j.down.slice();
    l.next_seq = j.next_seq;
    const seqs = Object.keys(j.inflight).map(Number).sort(byNumber);
    for (const seq of seqs) {
      const b = j.inflight[String(seq)];
      l.inflight.set(seq, { sent_at: b.sent_at, up: b.up.slice(), down: b.down.slice() });
    }
    l.owed = j.owed.slice();
    l.owed_since = j.owed_since ?? null;
    l.failures = j.failures;
    return l;
  }
}

export class Core {
  /** @param {Config} cfg @param {string} me @param {string[]} nodes */
  constructor(cfg, me, nodes) {
    this.cfg = cfg;
    this.me = me;
    this.hubs = nodes.slice(0, cfg.hubs);
    /** Virtual time in ms, advanced by `tick`. */
    this.now = 0;
    /** @type {Set<number>} */
    this.seen = new Set();
    /** @type {number[]} */
    this.values = [];
    /** peer -> link, in the peers' order (Rust's BTreeMap) @type {Map<string, Link>} */
    this.links = new Map(nodes.filter((n) => n !== me).sort().map((n) => [n, new Link()]));
    /** Whether a hub's batch has set our uplink's phase yet. */
    this.synced = false;
  }

  /** The state as Rust's serde writes `Core`. */
  toJSON() {
    const links = {};
    for (const [p, l] of this.links) links[p] = l.toJSON();
    return {
      cfg: this.cfg, me: this.me, hubs: this.hubs, now: this.now, seen: [...this.seen],
      values: this.values, links, synced: this.synced,
    };
  }

  static fromJSON(j) {
    const c = new Core(j.cfg, j.me, []);
    c.hubs = j.hubs.slice();
    c.now = j.now;
    c.seen = new Set(j.seen);
    c.values = j.values.slice();
    c.links = new Map(Object.keys(j.links).sort().map((p) => [p, Link.fromJSON(j.links[p])]));
    c.synced = j.synced;
    return c;
  }

  /** @returns {Out[]} What to arm once the node is running. */
  start() {
    return this.cfg.up_ms > 0 ? [['arm-up', this.cfg.up_ms]] : [];
  }

  /** A client broadcast `v` here. @returns {Out[]} */
  broadcast(v) {
    if (!this.learn(v)) return [];
    const hub = this.routeUp([v]);
    const atOnce = this.cfg.up_ms === 0 || (this.cfg.lead_ms > 0 && !this.synced);
    if (hub !== null && atOnce && !this.links.get(hub)?.stalled()) {
      const o = this.send(hub);
      return o ? [o] : [];
    }
    return [];
  }

  /** A gossip message arrived from `from`. @param {Gossip} g @returns {Out[]} */
  receive(from, g) {
    const link = this.links.get(from);
    if (!link) {
      console.error(`broadcast: gossip from unknown node ${from}`);
      return [];
    }
    link.failures = 0;
    for (const a of g.acks ?? []) link.inflight.delete(a);
    if (g.seq !== undefined && g.seq !== null) {
      link.owed.push(g.seq);
      if (link.owed_since === null) link.owed_since = this.now;
    }
    for (const v of g.up ?? []) if (this.learn(v)) this.fanOut(v, from);
    for (const v of g.down ?? []) this.learn(v);
    const c = this.cfg;
    if ((g.down?.length ?? 0) > 0 && c.up_ms > 0 && c.lead_ms > 0 && this.hub() === from) {
      // The hub's next batch leaves down_ms after this one did: arrive just before it.
      this.synced = true;
      return [['arm-up', Math.max(1, Math.max(0, c.down_ms - c.lead_ms))]];
    }
    return [];
  }

  /** The hub period: every pending down batch (and, with immediate uplinks, waiting up values). */
  flushDown() {
    const upToo = this.cfg.up_ms === 0;
    const peers = [...this.links]
      .filter(([, l]) => (l.down.length > 0 || (upToo && l.up.length > 0)) && !l.stalled())
      .map(([p]) => p);
    return peers.map((p) => this.send(p)).filter((o) => o !== null);
  }

  /** The uplink timer: every pending up batch, and re-arm. */
  flushUp() {
    const peers = [...this.links].filter(([, l]) => l.up.length > 0 && !l.stalled()).map(([p]) => p);
    const out = peers.map((p) => this.send(p)).filter((o) => o !== null);
    if (this.cfg.up_ms > 0) out.push(['arm-up', this.cfg.up_ms]);
    return out;
  }

  /** Advances the clock by `tick_ms`: resends what timed out, sends overdue acks. */
  tick() {
    this.now += this.cfg.tick_ms;
    const { now } = this;
    const { rto_ms: rto, ack_ms: ackMs } = this.cfg;
    let resend = [];
    const reroute = [];
    for (const [p, l] of this.links) {
      if (![...l.inflight.values()].some((b) => Math.max(0, now - b.sent_at) >= rto)) continue;
      // The younger batches are likely lost too: resend them all now.
      l.failures += 1;
      for (const b of l.inflight.values()) {
        l.down.push(...b.down);
        reroute.push(...b.up);
      }
      l.inflight = new Map();
      resend.push(p);
    }
    // The peer that timed out is now suspect, so this may pick another hub.
    if (reroute.length > 0) {
      const hub = this.routeUp(reroute);
      if (hub !== null) resend.push(hub);
    }
    resend = [...new Set(resend)].sort();
    const out = resend.map((p) => this.send(p)).filter((o) => o !== null);
    for (const [p, l] of this.links) {
      if (l.owed_since !== null && Math.max(0, now - l.owed_since) >= ackMs) {
        l.owed_since = null;
        const acks = l.owed;
        l.owed = [];
        out.push(['send', p, { acks }]);
      }
    }
    return out;
  }

  learn(v) {
    if (this.seen.has(v)) return false;
    this.seen.add(v);
    this.values.push(v);
    return true;
  }

  /** The hub this node sends its values to: the first that is this node or has not timed out. */
  hub() {
    const h = this.hubs.find((x) => x === this.me || this.links.get(x)?.failures === 0);
    return h ?? this.hubs[0] ?? this.me;
  }

  /** Queues `vals` for our hub; returns it, or null when we are it (then they go down to everyone). */
  routeUp(vals) {
    const hub = this.hub();
    const l = this.links.get(hub);
    if (l) {
      l.up.push(...vals);
      return hub;
    }
    for (const v of vals) this.fanOut(v, null);
    return null;
  }

  /** This node is now responsible for spreading `v` to everyone but `skip`. */
  fanOut(v, skip) {
    for (const [p, l] of this.links) if (p !== skip) l.down.push(v);
  }

  /** Sends everything queued for `peer` as one batch, with any acks we owe it. @returns {Out | null} */
  send(peer) {
    const l = this.links.get(peer);
    if (!l || !l.hasData()) return null;
    const up = sortedDedup(l.up);
    const down = sortedDedup(l.down);
    l.up = [];
    l.down = [];
    const seq = l.next_seq;
    l.next_seq += 1;
    l.inflight.set(seq, { sent_at: this.now, up: up.slice(), down: down.slice() });
    l.owed_since = null;
    const acks = l.owed;
    l.owed = [];
    return ['send', peer, { seq, up, down, acks }];
  }
}
