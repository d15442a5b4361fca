// Native tests for one node, without wasm or a host: `TestNode` feeds it messages and
// timer firings on a virtual clock and returns what it sent (as the Rust SDK's
// glomers::testing::TestNode). Run with `node --test`.
//
//   const t = await TestNode.start(node, 'n1', ['n1', 'n2']);
//   const out = await t.deliver('c1', { type: 'echo', echo: 1, msg_id: 1 });
//   assert.equal(out[0].body.echo, 1);
//
// Every call is async: after the node's synchronous part it waits for a macrotask,
// so every promise the node set going has run (as the component does before an
// export returns), and it rethrows a crash (what would trap the component).
import { Args, Node } from './glomers.js';

/** @typedef {{ dest: string, body: any }} Sent  one message the node sent */

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** The host double: records what the node asks of the host. */
class FakeHost {
  constructor() {
    /** @type {Array<['send', string, string] | ['set', number, number] | ['cancel', number]>} */
    this.effects = [];
  }
  send(dest, body) {
    if (typeof dest !== 'string' || typeof body !== 'string') throw new TypeError('send(string, string)');
    this.effects.push(['send', dest, body]);
  }
  setTimer(id, delayMs) {
    if (!Number.isSafeInteger(id) || id < 0 || !Number.isSafeInteger(delayMs) || delayMs < 0) {
      throw new TypeError(`setTimer(${id}, ${delayMs}): not u64s`);
    }
    this.effects.push(['set', id, delayMs]);
  }
  cancelTimer(id) {
    this.effects.push(['cancel', id]);
  }
}

export class TestNode {
  /**
   * Builds a node with `build(args)` (not initialised yet; see `init`).
   * @param {(args: Args) => Node} build
   * @param {string[]} [args] its guest arguments
   */
  constructor(build, args = []) {
    this.host = new FakeHost();
    const a = new Args(args);
    /** @type {Node} */
    this.node = build(a);
    /** Problems with the guest arguments, as `finish()` reported them. */
    this.argProblems = a.finish();
    this.node._attach(this.host);
    this.nowMs = 0;
    /** timer id -> deadline @type {Map<number, number>} */
    this.timers = new Map();
    /** What init_ok looked like (not returned by `init`). */
    this.initOk = null;
  }

  /** Builds the node and answers its `init` (the init_ok is not returned). */
  static async start(build, id, ids, args = []) {
    return new TestNode(build, args).init(id, ids);
  }

  /** Answers the node's `init`. */
  async init(id, ids) {
    const out = await this.deliver('c0', { type: 'init', msg_id: 0, node_id: id, node_ids: ids });
    this.initOk = out.find((s) => s.body.type === 'init_ok') ?? null;
    return this;
  }

  /**
   * Delivers a message (a body object, or its JSON text) and returns what the node sent.
   * @returns {Promise<Sent[]>}
   */
  async deliver(src, body) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    await this._run(() => this.node._onMessage(src, text));
    return this._collect();
  }

  /** Moves the clock forward, firing due timers in order; returns what was sent. */
  async advance(ms) {
    const until = this.nowMs + ms;
    const out = [];
    for (;;) {
      let next = null;
      for (const [id, at] of this.timers) {
        if (at <= until && (next === null || at < next[1] || (at === next[1] && id < next[0]))) next = [id, at];
      }
      if (next === null) break;
      const [id, at] = next;
      this.timers.delete(id);
      this.nowMs = at;
      await this._run(() => this.node._onTimer(id));
      out.push(...this._collect());
    }
    this.nowMs = until;
    return out;
  }

  /** The node's handoff snapshot (JSON text), as the host would take it. */
  snapshot() {
    return this.node._snapshot();
  }

  /**
   * Swaps in a new version built by `build`, as a live swap does: it takes over the
   * snapshot (this node's, or `snapshot` given, e.g. one a Rust node wrote) and the
   * armed timers stay armed. Returns what it sent while taking over; throws why the
   * state could not be carried.
   */
  async upgrade(build, snapshot, args = []) {
    const snap = snapshot ?? this.snapshot();
    if (snap === undefined) throw new Error('the old version hands no state over (no .handoff()?)');
    const fresh = new TestNode(build, args);
    fresh.nowMs = this.nowMs;
    fresh.timers = this.timers;
    this.host = fresh.host;
    this.node = fresh.node;
    await this._run(() => this.node._restore(typeof snap === 'string' ? snap : JSON.stringify(snap)));
    return this._collect();
  }

  /** Restores a fresh node from a snapshot (e.g. one a Rust node wrote). */
  static async restore(build, snapshot, args = []) {
    const t = new TestNode(build, args);
    await t._run(() => t.node._restore(typeof snapshot === 'string' ? snapshot : JSON.stringify(snapshot)));
    t._collect();
    return t;
  }

  async _run(f) {
    f();
    const p = this.node._settle(tick);
    if (p) await p;
  }

  /** @returns {Sent[]} */
  _collect() {
    const sent = [];
    for (const e of this.host.effects.splice(0)) {
      if (e[0] === 'send') sent.push({ dest: e[1], body: JSON.parse(e[2]) });
      else if (e[0] === 'set') this.timers.set(e[1], this.nowMs + e[2]);
      else this.timers.delete(e[1]);
    }
    return sent;
  }
}
