// glomers for JavaScript: write a Maelstrom node as a WebAssembly component.
//
// The shape follows Maelstrom's own JS library: `node.on("echo", (req) => ...)`,
// `node.reply(req, body)`, `node.rpc(dest, body, cb)`, `await node.call(dest, body)`,
// plus async handlers whose returned body is the reply and whose thrown
// `MaelstromError` is the error reply. Everything here is plain JS: the host's
// imports reach a node only through the `host` object its runtime is given
// (sdk/js/host.js under wasm, sdk/js/testing.js's double in tests).
//
// Semantics mirror the Rust SDK (guest-sdk/): ids, timers, pending RPCs and the
// handoff snapshot are the same, so a JS node and a Rust node interoperate and can
// replace each other in a live swap.

/**
 * Maelstrom's standard error codes (protocol/src/lib.rs is their one home).
 * Definite: 1, 10, 11, 12, 14, 20, 21, 22, 30. Indefinite: 0, 13 and any other.
 */
export const code = Object.freeze({
  TIMEOUT: 0,
  NODE_NOT_FOUND: 1,
  NOT_SUPPORTED: 10,
  TEMPORARILY_UNAVAILABLE: 11,
  MALFORMED_REQUEST: 12,
  CRASH: 13,
  ABORT: 14,
  KEY_DOES_NOT_EXIST: 20,
  KEY_ALREADY_EXISTS: 21,
  PRECONDITION_FAILED: 22,
  TXN_CONFLICT: 30,
});

const NAMES = new Map([
  [0, 'timeout'], [1, 'node-not-found'], [10, 'not-supported'],
  [11, 'temporarily-unavailable'], [12, 'malformed-request'], [13, 'crash'],
  [14, 'abort'], [20, 'key-does-not-exist'], [21, 'key-already-exists'],
  [22, 'precondition-failed'], [30, 'txn-conflict'],
]);
const DEFINITE = new Set([1, 10, 11, 12, 14, 20, 21, 22, 30]);

/** Whether an error with this code means the operation certainly did not happen. */
export function isDefinite(c) {
  return DEFINITE.has(c);
}

/** Maelstrom's name for a code ("unknown" for codes it does not define). */
export function codeName(c) {
  return NAMES.get(c) ?? 'unknown';
}

/**
 * An error with a Maelstrom code: thrown by a handler it becomes the error reply;
 * an RPC whose reply is of type `error` (or that timed out) fails with one.
 * Anything else a handler throws is a crash: the component traps.
 */
export class MaelstromError extends Error {
  /** @param {number} code @param {string} [text] */
  constructor(code, text = '') {
    super(`error ${code} (${codeName(code)}): ${text}`);
    this.name = 'MaelstromError';
    /** @type {number} */
    this.code = code;
    /** @type {string} */
    this.text = text;
  }
  /** True when the operation certainly did not take place. */
  get definite() {
    return isDefinite(this.code);
  }
  /** The body of an error reply. */
  toBody() {
    return { type: 'error', code: this.code, text: this.text };
  }
  static timeout(text) { return new MaelstromError(code.TIMEOUT, text); }
  static nodeNotFound(text) { return new MaelstromError(code.NODE_NOT_FOUND, text); }
  static notSupported(text) { return new MaelstromError(code.NOT_SUPPORTED, text); }
  static temporarilyUnavailable(text) { return new MaelstromError(code.TEMPORARILY_UNAVAILABLE, text); }
  static malformed(text) { return new MaelstromError(code.MALFORMED_REQUEST, text); }
  static crash(text) { return new MaelstromError(code.CRASH, text); }
  static abort(text) { return new MaelstromError(code.ABORT, text); }
  static keyDoesNotExist(text) { return new MaelstromError(code.KEY_DOES_NOT_EXIST, text); }
  static keyAlreadyExists(text) { return new MaelstromError(code.KEY_ALREADY_EXISTS, text); }
  static preconditionFailed(text) { return new MaelstromError(code.PRECONDITION_FAILED, text); }
  static txnConflict(text) { return new MaelstromError(code.TXN_CONFLICT, text); }
}

// ---------------------------------------------------------------------------------
// Decoding bodies

const CHECKS = {
  any: (v) => v !== undefined,
  string: (v) => typeof v === 'string',
  number: (v) => typeof v === 'number',
  integer: (v) => Number.isSafeInteger(v),
  uint: (v) => Number.isSafeInteger(v) && v >= 0,
  boolean: (v) => typeof v === 'boolean',
  array: (v) => Array.isArray(v),
  object: (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
  'integer[]': (v) => Array.isArray(v) && v.every((x) => Number.isSafeInteger(x)),
  'uint[]': (v) => Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && x >= 0),
  'string[]': (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'),
  // an object whose values are integers, e.g. kafka's offsets
  'integer{}': (v) => CHECKS.object(v) && Object.values(v).every((x) => Number.isSafeInteger(x)),
};

/**
 * Checks `body` against `shape` ({field: kind}) and returns it; a field that is
 * missing or of the wrong kind throws a malformed-request error (code 12), which a
 * handler turns into that error reply. Kinds: any, string, number, integer, uint,
 * boolean, array, object, integer[], uint[], string[], integer{} (a map to
 * integers); a trailing `?` makes the field optional (absent or null, as serde's
 * `Option`); a function is a custom check.
 *
 * @template T
 * @param {T} body
 * @param {Record<string, string | ((v: any) => boolean)>} shape
 * @returns {T}
 */
export function decode(body, shape) {
  for (const [field, kind] of Object.entries(shape)) {
    const v = body[field];
    let ok;
    if (typeof kind === 'function') {
      ok = kind(v);
    } else {
      const optional = kind.endsWith('?');
      const k = optional ? kind.slice(0, -1) : kind;
      const check = CHECKS[k];
      if (!check) throw new Error(`decode: unknown kind ${kind}`);
      ok = (optional && (v === undefined || v === null)) || check(v);
    }
    if (!ok) {
      throw MaelstromError.malformed(
        `field ${JSON.stringify(field)}: expected ${typeof kind === 'function' ? 'a valid value' : kind}, got ${JSON.stringify(v)}`,
      );
    }
  }
  return body;
}

// ---------------------------------------------------------------------------------
// Random numbers

/**
 * A random u64 as a BigInt, from the host's WASI random source (seeded by the
 * harness under `host test`). Draw it when the node is built, never at module load:
 * a component's module top level runs at build time.
 * @returns {bigint}
 */
export function randomU64() {
  const w = new Uint32Array(2);
  crypto.getRandomValues(w);
  return (BigInt(w[0]) << 32n) | BigInt(w[1]);
}

/** A random integer in [0, 2^53), exactly representable, e.g. for state a Rust node reads as u64. */
export function randomSafe() {
  return Number(randomU64() >> 11n);
}

// ---------------------------------------------------------------------------------
// Guest arguments

/**
 * The node's guest arguments (`host run node.wasm -- --down-ms 150`): options are
 * `--name value` or `--name=value`, flags `--name`, a lone `--` is skipped, plain
 * words are positional. A bad value or an unknown argument is reported on stderr by
 * `finish()` and otherwise ignored (the knob keeps its default), as in Rust.
 */
export class Args {
  /** @param {string[]} argv the arguments, without the program's name */
  constructor(argv = []) {
    /** @type {string[]} */
    this.rest = argv.filter((a) => a !== '--');
    /** @type {string[]} */
    this.problems = [];
  }

  /** Whether the flag `name` (e.g. "--lin-kv") was given. */
  flag(name) {
    const before = this.rest.length;
    this.rest = this.rest.filter((a) => a !== name);
    return this.rest.length < before;
  }

  /**
   * The value of option `name`, parsed by `parse` (which throws or returns
   * undefined for a bad value); the last one wins; undefined when absent or bad.
   * @template [T=string]
   * @param {string} name
   * @param {(s: string) => T} [parse]
   * @returns {T | undefined}
   */
  value(name, parse = /** @type {(s: string) => any} */ ((s) => s)) {
    let found; // undefined: absent, null: no value, string: the value
    let i = 0;
    while (i < this.rest.length) {
      const a = this.rest[i];
      if (a.startsWith(name + '=')) {
        this.rest.splice(i, 1);
        found = a.slice(name.length + 1);
      } else if (a === name) {
        this.rest.splice(i, 1);
        const next = this.rest[i];
        found = next !== undefined && !next.startsWith('--') ? this.rest.splice(i, 1)[0] : null;
      } else {
        i += 1;
      }
    }
    if (found === undefined) return undefined;
    if (found === null) {
      this.problems.push(`${name} needs a value`);
      return undefined;
    }
    let v;
    try {
      v = parse(found);
    } catch (e) {
      v = undefined;
    }
    if (v === undefined) this.problems.push(`${name} ${JSON.stringify(found)}: invalid value; ignoring it`);
    return v;
  }

  /** The value of option `name`, or `dflt` when absent or bad. */
  valueOr(name, dflt, parse) {
    const v = this.value(name, parse);
    return v === undefined ? dflt : v;
  }

  /** A non-negative integer option (Rust's u64/usize), or `dflt`. */
  uint(name, dflt) {
    return this.valueOr(name, dflt, parseUint);
  }

  /** The next plain word (not an option), if any. */
  positional() {
    const i = this.rest.findIndex((a) => !a.startsWith('--'));
    return i < 0 ? undefined : this.rest.splice(i, 1)[0];
  }

  /** Reports every problem and every argument nobody claimed on stderr; returns them. */
  finish() {
    if (this.finished) return [];
    this.finished = true;
    for (const a of this.rest) this.problems.push(`unknown argument ${JSON.stringify(a)}, ignored`);
    this.rest = [];
    for (const p of this.problems) console.error(`glomers: guest argument ${p}`);
    return this.problems;
  }
}

/** Parses a non-negative decimal integer; undefined when it is not one. */
export function parseUint(s) {
  if (!/^\+?[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

// ---------------------------------------------------------------------------------
// The node

/**
 * @typedef {{ send(dest: string, body: string): void,
 *             setTimer(id: number, delayMs: number): void,
 *             cancelTimer(id: number): void }} Host
 * What a node needs from its host: sdk/js/host.js under wasm, a test double natively.
 */

/** @typedef {{ type: string, msg_id?: number, in_reply_to?: number, [k: string]: any }} Body */
/**
 * @typedef {{ src: string, msg_id?: number | null, body: Body }} Message
 * A request as a handler sees it (`msg_id` is also in the body; the same layout as
 * the Rust SDK's `Request`, so a node can keep requests in its handoff state), and
 * an RPC's reply ({src, body}).
 */
/** @typedef {(req: Message, node: Node) => (Body | void | Promise<Body | void>)} Handler */

const SNAPSHOT_FORMAT = 1;
const DEFAULT_TIMEOUT_MS = 1000;

/**
 * A Maelstrom node: its handlers, and what they can do (reply, send, rpc, call,
 * timers). One object, as in Maelstrom's JS library; a node's state is whatever the
 * closures hold (or `node.state`, which `handoff()` carries across a live swap).
 */
export class Node {
  constructor() {
    /** @type {Map<string, Handler>} */
    this._handlers = new Map();
    /** @type {Handler | null} */
    this._fallback = null;
    /** @type {Array<(node: Node) => void>} */
    this._onInit = [];
    /** @type {Array<(node: Node) => void>} */
    this._onRestore = [];
    /** @type {Array<(node: Node) => void>} */
    this._onStart = [];
    /** @type {{ save: () => any, load: (state: any) => void } | null} */
    this._handoff = null;
    /** @type {Host | null} */
    this._host = null;
    this._id = '';
    /** @type {string[]} */
    this._ids = [];
    this._nextMsgId = 0;
    this._nextTimerId = 0;
    /** msg_id -> { cb, timer } @type {Map<number, { cb: (err: MaelstromError | null, res?: Message) => void, timer: number }>} */
    this._pending = new Map();
    /** id -> { period, fn } @type {Map<number, { period: number | null, fn: (node: Node) => void }>} */
    this._timers = new Map();
    /** The timer whose callback is running, and whether it was cancelled meanwhile. */
    this._firing = null;
    /** Set when promise-driven work may run after this call's synchronous part. */
    this._async = false;
    /** A crash seen in async work, rethrown before the call returns (a trap). */
    this._fatal = null;
    this._started = false;
  }

  // --- identity ---------------------------------------------------------------

  /** This node's id, e.g. "n1" ("" before init). */
  get id() { return this._id; }
  /** Every node's id, this one included, in init's order. */
  get nodeIds() { return this._ids.slice(); }
  /** The other nodes' ids. */
  get peers() { return this._ids.filter((n) => n !== this._id); }

  // --- building -----------------------------------------------------------------

  /**
   * Handles messages of type `type`. The handler gets the request ({src, body}) and
   * the node; what it returns (directly or from a Promise) is the reply body unless
   * undefined; a thrown `MaelstromError` is the error reply; anything else thrown
   * crashes the node. With a `shape` ({field: kind}, see `decode`), a body that does
   * not match gets error 12 before the handler runs.
   * @param {string} type
   * @param {Handler | Record<string, any>} shapeOrHandler
   * @param {Handler} [handler]
   */
  on(type, shapeOrHandler, handler) {
    if (typeof shapeOrHandler === 'function') {
      this._handlers.set(type, /** @type {Handler} */ (shapeOrHandler));
    } else {
      const shape = shapeOrHandler;
      this._handlers.set(type, (req, node) => {
        decode(req.body, shape);
        return handler(req, node);
      });
    }
    return this;
  }

  /** Handles every type no `on` claimed (else they get error 10). */
  onAny(handler) {
    this._fallback = handler;
    return this;
  }

  /** Runs once the node knows its id (after `init` was answered). */
  onInit(fn) {
    this._onInit.push(fn);
    return this;
  }

  /** Runs after this version took over a previous one's state, in place of onInit. */
  onRestore(fn) {
    this._onRestore.push(fn);
    return this;
  }

  /**
   * Carries state across a live swap: `save()` returns the JSON-able state, `load(s)`
   * takes a previous version's (it may throw to refuse it). Without arguments the
   * node's `state` property is what travels.
   * @param {{ save: () => any, load: (state: any) => void }} [io]
   */
  handoff(io) {
    this._handoff = io ?? {
      save: () => this.state,
      load: (s) => { this.state = s; },
    };
    return this;
  }

  // --- messages -------------------------------------------------------------------

  /** Replies to `req` with `body` (which carries its `type`); sets `in_reply_to`. */
  reply(req, body) {
    const id = req.msg_id ?? req.body?.msg_id;
    this._sendBody(req.src, id === undefined || id === null ? body : { ...body, in_reply_to: id });
  }

  /** Replies to `req` with an error (a MaelstromError, or a code and text). */
  replyError(req, err, text) {
    const e = err instanceof MaelstromError ? err : new MaelstromError(err, text);
    const id = req.msg_id ?? req.body?.msg_id;
    if (id === undefined || id === null) {
      console.error(`glomers: ${req.body?.type} from ${req.src} failed: ${e.message}`);
    } else {
      this._sendBody(req.src, { ...e.toBody(), in_reply_to: id });
    }
  }

  /** Sends a message that expects no reply. */
  send(dest, body) {
    this._sendBody(dest, body);
  }

  /**
   * Sends a request; `cb(err, reply)` gets the reply ({src, body}), or a
   * MaelstromError: the reply's when it is of type `error`, a timeout (code 0) when
   * none came within `timeoutMs`.
   * @param {string} dest
   * @param {Body} body
   * @param {(err: MaelstromError | null, reply?: Message) => void} cb
   * @param {number} [timeoutMs]
   */
  rpc(dest, body, cb, timeoutMs = DEFAULT_TIMEOUT_MS) {
    const msgId = ++this._nextMsgId;
    const timer = this._arm(timeoutMs, null, () => {
      const p = this._pending.get(msgId);
      if (p) {
        this._pending.delete(msgId);
        p.cb(MaelstromError.timeout(`no reply from ${dest} within ${timeoutMs} ms`));
      }
    });
    this._pending.set(msgId, { cb, timer });
    this._sendBody(dest, { ...body, msg_id: msgId });
  }

  /**
   * Sends a request and resolves with its reply ({src, body}); rejects with a
   * MaelstromError (an error reply, or a timeout after `timeoutMs`).
   * @param {string} dest @param {Body} body @param {number} [timeoutMs]
   * @returns {Promise<Message>}
   */
  call(dest, body, timeoutMs = DEFAULT_TIMEOUT_MS) {
    return new Promise((resolve, reject) => {
      this.rpc(dest, body, (err, res) => {
        this._async = true;
        if (err) reject(err);
        else resolve(res);
      }, timeoutMs);
    });
  }

  // --- timers ----------------------------------------------------------------------

  /** Calls `fn` once, after `ms`; returns the timer's id (for `cancel`). */
  after(ms, fn) {
    return this._arm(ms, null, fn);
  }

  /**
   * Calls `fn` every `ms` until cancelled. Called while the node is being built (in
   * its builder function) it is armed once the node is initialised or restored and
   * returns the node, for chaining; later it returns the timer's id, for `cancel`.
   * @param {number} ms
   * @param {(node: Node) => void} fn
   * @returns {any}
   */
  every(ms, fn) {
    const period = Math.max(1, Math.floor(ms));
    if (!this._started) {
      this._onStart.push(() => this._arm(period, period, fn));
      return this;
    }
    return this._arm(period, period, fn);
  }

  /** Cancels a timer from `after` or `every`. */
  cancel(id) {
    if (this._firing && this._firing.id === id) {
      this._firing.cancelled = true;
      this._host.cancelTimer(id);
    } else if (this._timers.delete(id)) {
      this._host.cancelTimer(id);
    }
  }

  /** A promise that resolves after `ms` (on the host's timers). */
  sleep(ms) {
    return new Promise(/** @param {(v?: any) => void} resolve */ (resolve) => {
      this.after(ms, () => {
        this._async = true;
        resolve();
      });
    });
  }

  /**
   * Runs async work in the background: its rejection with anything is a crash (a
   * MaelstromError too: there is nobody to reply to). Takes a promise or a function
   * returning one.
   */
  spawn(work) {
    this._async = true;
    const p = typeof work === 'function' ? Promise.resolve().then(work) : Promise.resolve(work);
    p.catch((e) => this._crash(e));
  }

  // --- the runtime (called by component.js or testing.js) ----------------------------

  /** @param {Host} host */
  _attach(host) {
    this._host = host;
    return this;
  }

  _sendBody(dest, body) {
    let text;
    try {
      text = JSON.stringify(body);
    } catch (e) {
      throw new Error(`glomers: a message body must be JSON: ${e}`);
    }
    if (!text || text[0] !== '{') throw new Error(`glomers: a message body must be a JSON object, not ${text}`);
    this._host.send(dest, text);
  }

  _arm(delayMs, period, fn) {
    const id = ++this._nextTimerId;
    this._timers.set(id, { period, fn });
    this._host.setTimer(id, Math.max(0, Math.floor(delayMs)));
    return id;
  }

  _crash(e) {
    if (!this._fatal) this._fatal = e instanceof Error ? e : new Error(`a task failed: ${String(e)}`);
  }

  /** A message arrived. */
  _onMessage(src, text) {
    let body;
    try {
      body = JSON.parse(text);
    } catch (e) {
      body = null;
    }
    const bad = (v) => v !== undefined && v !== null && !(Number.isSafeInteger(v) && v >= 0);
    if (body === null || typeof body !== 'object' || Array.isArray(body) || bad(body.msg_id) || bad(body.in_reply_to)) {
      console.error(`glomers: dropping a message from ${src} whose body is not a JSON object with a numeric msg_id: ${text}`);
      return;
    }
    if (body.in_reply_to !== undefined && body.in_reply_to !== null) {
      // A reply after its timeout has nobody waiting, and is dropped.
      const p = this._pending.get(body.in_reply_to);
      if (p) {
        this._pending.delete(body.in_reply_to);
        this.cancel(p.timer);
        if (body.type === 'error') {
          const c = Number.isSafeInteger(body.code) && body.code >= 0 ? body.code : code.CRASH;
          p.cb(new MaelstromError(c, typeof body.text === 'string' ? body.text : ''));
        } else {
          p.cb(null, { src, body });
        }
      }
    } else if (body.type === 'init') {
      this._init(src, body);
    } else {
      this._dispatch({ src, msg_id: body.msg_id ?? null, body });
    }
  }

  _init(src, body) {
    this._id = typeof body.node_id === 'string' ? body.node_id : '';
    this._ids = Array.isArray(body.node_ids) ? body.node_ids.filter((x) => typeof x === 'string') : [];
    this._sendBody(src, { type: 'init_ok', in_reply_to: body.msg_id ?? null });
    this._started = true;
    for (const f of this._onInit.splice(0)) f(this);
    for (const f of this._onStart.splice(0)) f(this);
  }

  /** @param {Message} req */
  _dispatch(req) {
    const type = typeof req.body.type === 'string' ? req.body.type : '';
    const h = this._handlers.get(type) ?? this._fallback;
    if (!h) {
      this.replyError(req, MaelstromError.notSupported(`this node does not handle messages of type ${JSON.stringify(type)}`));
      return;
    }
    let out;
    try {
      out = h(req, this);
    } catch (e) {
      if (e instanceof MaelstromError) {
        this.replyError(req, e);
        return;
      }
      throw e; // a crash: the component traps
    }
    if (out && typeof out.then === 'function') {
      this._async = true;
      out.then(
        (body) => {
          if (body !== undefined && body !== null) this.reply(req, body);
        },
        (e) => {
          if (e instanceof MaelstromError) this.replyError(req, e);
          else this._crash(e);
        },
      ).catch((e) => this._crash(e));
    } else if (out !== undefined && out !== null) {
      this.reply(req, out);
    }
  }

  /** A timer fired. */
  _onTimer(id) {
    const t = this._timers.get(id);
    if (!t) return; // an old version's timer, or one cancelled
    this._timers.delete(id);
    this._firing = { id, cancelled: false };
    try {
      t.fn(this);
    } finally {
      const { cancelled } = this._firing;
      this._firing = null;
      if (t.period !== null && !cancelled) {
        this._timers.set(id, t);
        this._host.setTimer(id, t.period);
      }
    }
  }

  /** The handoff snapshot (JSON text), or undefined when there is none. */
  _snapshot() {
    if (!this._handoff || this._id === '') return undefined;
    let state;
    try {
      state = this._handoff.save();
    } catch (e) {
      console.error(`glomers: cannot hand the state over (it starts fresh): ${e}`);
      return undefined;
    }
    return JSON.stringify({
      glomers_snapshot: SNAPSHOT_FORMAT,
      node_id: this._id,
      node_ids: this._ids,
      next_msg_id: this._nextMsgId,
      next_timer_id: this._nextTimerId,
      state: state === undefined ? null : state,
    });
  }

  /** Takes over a previous version's snapshot; throws a string saying why not. */
  _restore(text) {
    let snap;
    try {
      snap = JSON.parse(text);
    } catch (e) {
      throw `not a glomers snapshot: ${e}`;
    }
    if (snap === null || typeof snap !== 'object') throw 'not a glomers snapshot: not an object';
    if (snap.glomers_snapshot !== SNAPSHOT_FORMAT) {
      throw `snapshot format ${snap.glomers_snapshot} (this SDK reads ${SNAPSHOT_FORMAT})`;
    }
    for (const f of ['node_id', 'node_ids', 'next_msg_id', 'next_timer_id', 'state']) {
      if (!(f in snap)) throw `not a glomers snapshot: missing field \`${f}\``;
    }
    if (!this._handoff) throw 'this version does not take state over (no `.handoff()`)';
    try {
      this._handoff.load(snap.state);
    } catch (e) {
      throw `the state cannot be taken over: ${e instanceof Error ? e.message : e}`;
    }
    this._id = String(snap.node_id);
    this._ids = snap.node_ids.map(String);
    this._nextMsgId = Math.max(this._nextMsgId, snap.next_msg_id);
    this._nextTimerId = Math.max(this._nextTimerId, snap.next_timer_id);
    this._started = true;
    for (const f of this._onStart.splice(0)) f(this);
    for (const f of this._onRestore.splice(0)) f(this);
    this._onInit = [];
  }

  /**
   * After a call's synchronous part: undefined when nothing async may still run,
   * else a promise that settles once the microtask queue has drained (a macrotask
   * runs only after every microtask), rejecting with a crash seen meanwhile.
   * @param {() => Promise<void>} tick a macrotask boundary
   */
  _settle(tick) {
    if (this._fatal) throw this._fatal;
    if (!this._async) return undefined;
    this._async = false;
    return tick().then(() => {
      this._async = false;
      if (this._fatal) throw this._fatal;
    });
  }
}

// ---------------------------------------------------------------------------------
// Key-value services

/** True for the errors after which a compare-and-set loop should read and retry. */
export function isRetryable(e) {
  /** @type {number[]} */
  const retryable = [code.PRECONDITION_FAILED, code.KEY_DOES_NOT_EXIST, code.TIMEOUT, code.TEMPORARILY_UNAVAILABLE];
  return e instanceof MaelstromError && retryable.includes(e.code);
}

/** A client of one of Maelstrom's key-value services (as Maelstrom's JS/Go `KV`). */
export class KV {
  /** @param {Node} node @param {string} service @param {number} [timeoutMs] */
  constructor(node, service, timeoutMs = DEFAULT_TIMEOUT_MS) {
    this.node = node;
    this.service = service;
    this.timeoutMs = timeoutMs;
  }
  /** Reads `key`; a missing key rejects with code 20 (key-does-not-exist). */
  async read(key) {
    const r = await this.node.call(this.service, { type: 'read', key }, this.timeoutMs);
    return r.body.value ?? null;
  }
  /** Reads `key`, or `dflt` if it does not exist. */
  async readOr(key, dflt) {
    try {
      return await this.read(key);
    } catch (e) {
      if (e instanceof MaelstromError && e.code === code.KEY_DOES_NOT_EXIST) return dflt;
      throw e;
    }
  }
  /** Writes `value` at `key`. */
  async write(key, value) {
    await this.node.call(this.service, { type: 'write', key, value }, this.timeoutMs);
  }
  /**
   * Sets `key` to `to` if it holds `from`; with `create`, a missing key counts as
   * holding `from`. A mismatch rejects with code 22 (precondition-failed).
   */
  async cas(key, from, to, create = false) {
    await this.node.call(
      this.service,
      { type: 'cas', key, from, to, create_if_not_exists: create },
      this.timeoutMs,
    );
  }
}

/** The sequentially consistent store, "seq-kv". */
export const seqKV = (node, timeoutMs) => new KV(node, 'seq-kv', timeoutMs);
/** The linearizable store, "lin-kv". */
export const linKV = (node, timeoutMs) => new KV(node, 'lin-kv', timeoutMs);
/** The last-write-wins store, "lww-kv". */
export const lwwKV = (node, timeoutMs) => new KV(node, 'lww-kv', timeoutMs);
