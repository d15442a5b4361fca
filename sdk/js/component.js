// The component's exports for a node built by `build(args)`: what sdk/js/build.mjs
// wraps a node module in. The node is built on the first call, not at module load:
// componentize-js runs the module's top level at build time (Wizer), when neither
// the guest arguments nor the host exist yet.
import { Args, Node } from './glomers.js';
import { host } from './host.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// A macrotask boundary: StarlingMonkey runs timers only once the microtask queue is
// empty, so awaiting this lets every promise the call set going run to its next
// await on the host (an RPC, a sleep) before the export returns.
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * @param {(args: Args) => Node} build
 */
export function serve(build) {
  /** @type {Node | null} */
  let node = null;
  const get = () => {
    if (node === null) {
      const args = new Args(host.args());
      node = build(args);
      if (!(node instanceof Node)) throw new Error('glomers: the node module must build a Node');
      args.finish();
      node._attach(host);
    }
    return node;
  };
  return {
    onMessage(src, body) {
      const n = get();
      n._onMessage(src, body);
      return n._settle(tick);
    },
    onTimer(id) {
      const n = get();
      n._onTimer(Number(id));
      return n._settle(tick);
    },
    snapshot() {
      const text = get()._snapshot();
      return text === undefined ? undefined : encoder.encode(text);
    },
    restore(state) {
      // A thrown string is the `error` of the result (the host then starts fresh).
      const n = get();
      n._restore(decoder.decode(state));
      return n._settle(tick);
    },
  };
}
