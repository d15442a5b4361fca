// Challenge 3a-3e: broadcast. The protocol lives in lib/broadcast-core.js as a pure
// state machine (a port of the Rust challenge's core.rs); this module only ties it
// to Maelstrom's messages and the SDK's timers. The stages differ by guest arguments
// (--down-ms/--batch-ms, --up-ms, --lead-ms, --rto-ms, --ack-ms, --tick-ms, --hubs),
// graded as in challenges/challenges.toml.
import { MaelstromError, Node } from '../../sdk/js/glomers.js';
import { Core, configFromArgs, defaultConfig, gossipBody } from './lib/broadcast-core.js';

const notReady = () => MaelstromError.temporarilyUnavailable('not initialised yet');

/** @param {import('../../sdk/js/glomers.js').Args} [args] */
export default function node(args) {
  return nodeWith(args ? configFromArgs(args) : defaultConfig());
}

/** @param {import('./lib/broadcast-core.js').Config} cfg */
export function nodeWith(cfg) {
  const n = new Node();
  /** Built at init, when the node learns who it and its peers are. */
  let core = null;
  /** Not carried across a live swap: on restore the uplink is armed afresh. */
  let upTimer = null;

  // The handoff state is Rust's `App`: {cfg, core}.
  n.handoff({
    save: () => ({ cfg, core: core ? core.toJSON() : null }),
    load: (s) => {
      const c = s.core ? Core.fromJSON(s.core) : null; // throws on a bad layout, before anything changes
      cfg = s.cfg;
      core = c;
    },
  });

  /** Carries out what the core asked for. */
  const apply = (outs) => {
    for (const o of outs) {
      if (o[0] === 'send') {
        n.send(o[1], gossipBody(o[2]));
      } else {
        if (upTimer !== null) n.cancel(upTimer);
        upTimer = n.after(o[1], () => {
          upTimer = null;
          apply(core ? core.flushUp() : []);
        });
      }
    }
  };

  return n
    .onRestore(() => apply(core ? core.start() : []))
    .onInit(() => {
      core = new Core(cfg, n.id, n.nodeIds);
      apply(core.start());
    })
    .every(cfg.down_ms, () => apply(core ? core.flushDown() : []))
    .every(cfg.tick_ms, () => apply(core ? core.tick() : []))
    // We choose our own overlay (a star with fallback hubs).
    .on('topology', () => ({ type: 'topology_ok' }))
    .on('broadcast', { message: 'integer' }, (req) => {
      if (!core) throw notReady();
      apply(core.broadcast(req.body.message));
      return { type: 'broadcast_ok' };
    })
    .on('read', () => {
      if (!core) throw notReady();
      return { type: 'read_ok', messages: core.values };
    })
    .on('gossip', { seq: 'uint?', up: 'integer[]?', down: 'integer[]?', acks: 'uint[]?' }, (req) => {
      if (!core) throw notReady();
      apply(core.receive(req.src, req.body));
      return undefined;
    });
}
