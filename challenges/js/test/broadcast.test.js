// Ports of challenges/broadcast's Rust tests (core.rs and lib.rs), plus handoff
// compatibility with the Rust node's snapshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Args } from '../../../sdk/js/glomers.js';
import { TestNode } from '../../../sdk/js/testing.js';
import node, { nodeWith } from '../broadcast.js';
import { Core, configFromArgs, defaultConfig } from '../lib/broadcast-core.js';

const nodes = (n) => [...Array(n).keys()].map((i) => `n${i}`);
const sends = (outs) => outs.filter((o) => o[0] === 'send').map((o) => [o[1], o[2]]);
const ticks = (c, ms) => [...Array(ms / c.cfg.tick_ms)].flatMap(() => c.tick());
const parse = (line) => configFromArgs(new Args(line.split(/\s+/)));

test('core: only unacknowledged values are resent', () => {
  const hub = new Core(defaultConfig(), 'n0', nodes(3));
  hub.broadcast(1);
  assert.equal(sends(hub.flushDown()).length, 2);
  hub.broadcast(2);
  hub.flushDown();
  hub.receive('n1', { acks: [0, 1] });
  hub.receive('n2', { acks: [0] });
  const s = sends(ticks(hub, 2000));
  assert.equal(s.length, 1);
  assert.equal(s[0][0], 'n2');
  assert.deepEqual(s[0][1].down, [2]);
  hub.receive('n2', { acks: [s[0][1].seq] });
  assert.deepEqual(ticks(hub, 60000), []);
  assert.deepEqual(hub.flushDown(), []);
});

test('core: acknowledgements ride on traffic and go alone only when overdue', () => {
  const leaf = new Core(defaultConfig(), 'n1', nodes(3));
  leaf.receive('n0', { seq: 7, down: [5] });
  let s = sends(leaf.broadcast(9));
  assert.deepEqual([s[0][0], s[0][1].up, s[0][1].acks], ['n0', [9], [7]]);
  leaf.receive('n0', { seq: 8, acks: [0] });
  assert.deepEqual(ticks(leaf, 900), []);
  s = sends(ticks(leaf, 100));
  assert.equal(s.length, 1);
  assert.deepEqual(s[0][1], { acks: [8] });
});

test('core: a silent hub is bypassed until it is heard from', () => {
  const leaf = new Core(defaultConfig(), 'n2', nodes(5));
  assert.equal(sends(leaf.broadcast(1))[0][0], 'n0');
  const s = sends(ticks(leaf, 2000));
  assert.equal(s.length, 1);
  assert.deepEqual([s[0][0], s[0][1].up], ['n1', [1]]);
  assert.equal(sends(leaf.broadcast(2))[0][0], 'n1');
  leaf.receive('n0', { seq: 0, down: [3] });
  assert.equal(sends(leaf.broadcast(4))[0][0], 'n0');
});

test('core: whoever receives a value up spreads it', () => {
  const backup = new Core(defaultConfig(), 'n1', nodes(4));
  backup.receive('n3', { seq: 0, up: [6] });
  assert.deepEqual(sends(backup.flushDown()).map((s) => s[0]).sort(), ['n0', 'n2']);
  backup.receive('n0', { seq: 0, down: [7] });
  assert.deepEqual(sends(backup.flushDown()), []);
  assert.deepEqual(backup.values, [6, 7]);
});

test('core: a hub batch sets the uplink phase', () => {
  const leaf = new Core(parse('--up-ms 800 --down-ms 800 --lead-ms 250'), 'n1', nodes(3));
  assert.deepEqual(leaf.start(), [['arm-up', 800]]);
  assert.equal(sends(leaf.broadcast(1)).length, 1);
  assert.deepEqual(leaf.receive('n0', { seq: 0, down: [2] }), [['arm-up', 550]]);
  assert.deepEqual(leaf.broadcast(3), []);
  assert.deepEqual(leaf.broadcast(4), []);
  const outs = leaf.flushUp();
  const s = sends(outs);
  assert.deepEqual([s.length, s[0][1].up], [1, [3, 4]]);
  assert.deepEqual(outs.at(-1), ['arm-up', 800]);
});

test('arguments are parsed and bad ones ignored', () => {
  const args = new Args(['--', '--down-ms=250', '--hubs', '0', '--rto-ms', 'soon', 'stray', '--frob', '1', '--up-ms', '5']);
  const c = configFromArgs(args);
  assert.equal(c.down_ms, 250);
  assert.equal(c.hubs, 1);
  assert.equal(c.rto_ms, defaultConfig().rto_ms);
  assert.equal(c.up_ms, 5);
  assert.equal(args.finish().length, 4);
  assert.equal(parse('--batch-ms 300').down_ms, 300);
  assert.equal(parse('--batch-ms 300 --down-ms 150').down_ms, 150);
});

test('a single node reads what was broadcast', async () => {
  const t = await TestNode.start(() => nodeWith(defaultConfig()), 'n0', ['n0']);
  let out = await t.deliver('c1', { type: 'topology', topology: { n0: [] }, msg_id: 1 });
  assert.equal(out[0].body.type, 'topology_ok');
  for (const [i, v] of [3, 1, 3, 2].entries()) {
    out = await t.deliver('c1', { type: 'broadcast', message: v, msg_id: 10 + i });
    assert.equal(out.length, 1, 'a lone node talks to nobody but the client');
    assert.equal(out[0].body.type, 'broadcast_ok');
  }
  out = await t.deliver('c1', { type: 'read', msg_id: 20 });
  assert.deepEqual(out[0].body.messages, [3, 1, 2]);
  assert.deepEqual(await t.advance(60000), []);
});

test('a leaf sends up to the hub and the hub batches down', async () => {
  const leaf = await TestNode.start(node, 'n2', nodes(4));
  let out = await leaf.deliver('c1', { type: 'broadcast', message: 7, msg_id: 1 });
  const up = out.filter((s) => s.dest === 'n0');
  assert.equal(up.length, 1);
  assert.deepEqual(up[0].body, { type: 'gossip', seq: 0, up: [7] });
  const hub = await TestNode.start(node, 'n0', nodes(4));
  assert.deepEqual(await hub.deliver('n2', up[0].body), [], 'the hub waits for its period');
  out = await hub.advance(100);
  assert.deepEqual(out.map((s) => s.dest).sort(), ['n1', 'n3']);
  assert.ok(out.every((s) => JSON.stringify(s.body.down) === '[7]'));
  out = await hub.advance(1000);
  assert.equal(out.length, 1);
  assert.deepEqual(out[0], { dest: 'n2', body: { type: 'gossip', acks: [0] } });
});

test('malformed gossip is refused, not crashed on', async () => {
  const t = await TestNode.start(node, 'n0', ['n0', 'n1']);
  const out = await t.deliver('n1', { type: 'gossip', up: 'nope', msg_id: 3 });
  assert.equal(out[0].body.code, 12);
});

test('values and batches in flight cross a live swap', async () => {
  const leaf = await TestNode.start(node, 'n2', nodes(4));
  const out = await leaf.deliver('c1', { type: 'broadcast', message: 7, msg_id: 1 });
  assert.ok(out.some((s) => s.dest === 'n0'));
  await leaf.upgrade(node);
  const read = await leaf.deliver('c1', { type: 'read', msg_id: 2 });
  assert.deepEqual(read[0].body.messages, [7]);
  const resent = await leaf.advance(10000);
  assert.ok(resent.some((s) => s.dest.startsWith('n') && JSON.stringify(s.body.up) === '[7]'), JSON.stringify(resent));
});

// serde_json's layout of Rust's `App` (challenges/broadcast/src/lib.rs, core.rs): a
// leaf n2 of 4 whose batch of 7 to n0 is in flight and that owes n0 an ack.
const rustSnapshot = () => ({
  glomers_snapshot: 1, node_id: 'n2', node_ids: ['n0', 'n1', 'n2', 'n3'], next_msg_id: 0, next_timer_id: 2,
  state: {
    cfg: { down_ms: 100, up_ms: 0, lead_ms: 0, tick_ms: 100, rto_ms: 2000, ack_ms: 1000, hubs: 3 },
    core: {
      cfg: { down_ms: 100, up_ms: 0, lead_ms: 0, tick_ms: 100, rto_ms: 2000, ack_ms: 1000, hubs: 3 },
      me: 'n2', hubs: ['n0', 'n1', 'n2'], now: 300, seen: [9, 7], values: [7, 9],
      links: {
        n0: { up: [], down: [], next_seq: 1, inflight: { 0: { sent_at: 200, up: [7], down: [] } }, owed: [4], owed_since: 250, failures: 0 },
        n1: { up: [], down: [], next_seq: 0, inflight: {}, owed: [], owed_since: null, failures: 0 },
        n3: { up: [], down: [], next_seq: 0, inflight: {}, owed: [], owed_since: null, failures: 0 },
      },
      synced: false,
    },
  },
});

test('restores a Rust snapshot and writes the same shape back', async () => {
  const rust = rustSnapshot();
  const t = await TestNode.restore(node, rust);
  let out = await t.deliver('c1', { type: 'read', msg_id: 1 });
  assert.deepEqual(out[0].body.messages, [7, 9]);
  // The owed ack goes out alone once overdue (at now >= 1250).
  out = await t.advance(900);
  assert.deepEqual(out, []);
  out = await t.advance(100);
  assert.deepEqual(out, [{ dest: 'n0', body: { type: 'gossip', acks: [4] } }]);
  // The batch in flight since 200 times out at 2200 (rto 2000): n0 is now suspect,
  // so its value goes up to the next hub.
  out = await t.advance(1000);
  assert.deepEqual(out, [{ dest: 'n1', body: { type: 'gossip', seq: 0, up: [7] } }]);
  const mine = JSON.parse(t.snapshot());
  // null stands for an Option's None: the same field as a number.
  const shape = (v) => (v === null ? 'number' : Array.isArray(v) ? 'array' : typeof v === 'object'
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, shape(v[k])])) : typeof v);
  const expected = shape(rust);
  for (const p of ['n0', 'n1']) expected.state.core.links[p].inflight = shape(mine.state.core.links[p].inflight);
  assert.deepEqual(Object.keys(mine.state.core.links.n1.inflight), ['0']);
  assert.deepEqual(shape(mine), expected);
  assert.equal(mine.next_timer_id > rust.next_timer_id, true, 'timer ids go on past the old ones');
});

test('a snapshot missing a field is refused, and the node is left as it was', async () => {
  const bad = rustSnapshot();
  delete bad.state.core.links.n1.owed;
  await assert.rejects(TestNode.restore(node, bad), /cannot be taken over/);
});
