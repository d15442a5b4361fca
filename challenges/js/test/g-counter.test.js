// Ports of challenges/g-counter's Rust tests, plus a restore from a Rust snapshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestNode } from '../../../sdk/js/testing.js';
import node from '../g-counter.js';

const start = (me) => TestNode.start(node, me, ['n0', 'n1', 'n2']);

function kvRequest(out, kind) {
  assert.equal(out.length, 1, JSON.stringify(out));
  assert.equal(out[0].dest, 'seq-kv');
  assert.equal(out[0].body.type, kind, JSON.stringify(out));
  return out[0].body;
}
const answer = (t, req, body) => t.deliver('seq-kv', { ...body, in_reply_to: req.msg_id });
const add = (t, msgId, delta) => t.deliver('c1', { type: 'add', delta, msg_id: msgId });
const repliesTo = (out, kind) => out.filter((s) => s.dest === 'c1' && s.body.type === kind).map((s) => s.body.in_reply_to);

async function firstAdd(t, msgId, delta, stored) {
  const out = await add(t, msgId, delta);
  const read = kvRequest(out, 'read');
  assert.equal(read.key, 'count-n0');
  const value = stored === null ? { type: 'error', code: 20 } : { type: 'read_ok', value: stored };
  return kvRequest(await answer(t, read, value), 'cas');
}

test('an add is acknowledged only once its key holds it', async () => {
  const t = await start('n0');
  const cas = await firstAdd(t, 1, 3, null);
  assert.equal(cas.key, 'count-n0');
  assert.deepEqual(cas.from, [0, '']);
  assert.equal(cas.to[0], 3);
  assert.equal(cas.create_if_not_exists, true);
  const out = await answer(t, cas, { type: 'cas_ok' });
  assert.deepEqual(repliesTo(out, 'add_ok'), [1]);
  const next = kvRequest(await add(t, 2, 4), 'cas');
  assert.deepEqual(next.from, cas.to);
  assert.equal(next.to[0], 7);
  assert.notEqual(next.to[1], cas.to[1]);
});

test('adds during a compare-and-set share the next one', async () => {
  const t = await start('n0');
  const first = await firstAdd(t, 1, 1, null);
  assert.deepEqual(await add(t, 2, 2), []);
  assert.deepEqual(await add(t, 3, 4), []);
  const out = await answer(t, first, { type: 'cas_ok' });
  assert.deepEqual(repliesTo(out, 'add_ok'), [1]);
  const second = out.find((s) => s.dest === 'seq-kv').body;
  assert.deepEqual([second.from[0], second.to[0]], [1, 7]);
  assert.deepEqual(repliesTo(await answer(t, second, { type: 'cas_ok' }), 'add_ok'), [2, 3]);
});

test('zero needs no store and negative deltas are malformed', async () => {
  const t = await start('n0');
  assert.deepEqual(repliesTo(await add(t, 1, 0), 'add_ok'), [1]);
  const out = await add(t, 2, -1);
  assert.equal(out[0].body.code, 12);
  assert.deepEqual(await t.advance(5000), []);
});

test('a restarted node builds on its key and retries on a conflict', async () => {
  const t = await start('n0');
  const cas = await firstAdd(t, 1, 2, [5, 'old']);
  assert.deepEqual(cas.from, [5, 'old']);
  let out = await answer(t, cas, { type: 'error', code: 22, text: 'current value is [6, "newer"]' });
  const read = kvRequest(out, 'read');
  out = await answer(t, read, { type: 'read_ok', value: [6, 'newer'] });
  const retry = kvRequest(out, 'cas');
  assert.deepEqual(retry.from, [6, 'newer']);
  assert.deepEqual(retry.to, [8, cas.to[1]]);
  assert.deepEqual(repliesTo(await answer(t, retry, { type: 'cas_ok' }), 'add_ok'), [1]);
});

test('a timed-out compare-and-set that happened is not repeated', async () => {
  const t = await start('n0');
  const cas = await firstAdd(t, 1, 3, null);
  assert.deepEqual(await t.advance(1000), []);
  const read = kvRequest(await t.advance(50), 'read');
  const out = await answer(t, read, { type: 'read_ok', value: cas.to });
  assert.deepEqual(repliesTo(out, 'add_ok'), [1]);
  assert.ok(out.every((s) => s.dest !== 'seq-kv'));
  const next = kvRequest(await add(t, 2, 1), 'cas');
  assert.deepEqual(next.from, cas.to);
});

test('a read writes a barrier then sums every key', async () => {
  const t = await start('n0');
  const cas = await firstAdd(t, 1, 3, null);
  await answer(t, cas, { type: 'cas_ok' });
  const barrier = kvRequest(await t.deliver('c1', { type: 'read', msg_id: 2 }), 'write');
  assert.equal(barrier.key, 'barrier-n0');
  const r1 = kvRequest(await answer(t, barrier, { type: 'write_ok' }), 'read');
  assert.equal(r1.key, 'count-n1');
  const r2 = kvRequest(await answer(t, r1, { type: 'read_ok', value: [10, 'n1-a-4'] }), 'read');
  assert.equal(r2.key, 'count-n2');
  const out = await answer(t, r2, { type: 'error', code: 20 });
  assert.deepEqual(out, [{ dest: 'c1', body: { type: 'read_ok', value: 13, in_reply_to: 2 } }]);
});

test('restores a snapshot as the Rust g-counter writes it, and resumes its waiting adds', async () => {
  // serde_json's layout of Rust's `Counter` (challenges/g-counter/src/lib.rs).
  const rust = {
    glomers_snapshot: 1, node_id: 'n0', node_ids: ['n0'], next_msg_id: 7, next_timer_id: 3,
    state: {
      boot: 48879, next_tag: 2, mine: [5, 'n0-beef-2'], unflushed: 3,
      adds: [{ src: 'c1', msg_id: 2, body: { delta: 3 } }], flushing: true,
      seen: { n0: 5 }, reads: [], refreshing: false,
    },
  };
  const t = new TestNode(node);
  await t._run(() => t.node._restore(JSON.stringify(rust)));
  const read = kvRequest(t._collect(), 'read');
  assert.equal(read.msg_id, 8, 'msg ids go on past the old ones');
  let out = await t.deliver('seq-kv', { type: 'read_ok', value: [5, 'n0-beef-2'], in_reply_to: read.msg_id });
  const cas = kvRequest(out, 'cas');
  assert.deepEqual(cas.from, [5, 'n0-beef-2']);
  assert.deepEqual(cas.to, [8, 'n0-beef-3']);
  out = await t.deliver('seq-kv', { type: 'cas_ok', in_reply_to: cas.msg_id });
  assert.deepEqual(out, [{ dest: 'c1', body: { type: 'add_ok', in_reply_to: 2 } }]);
  // Its own snapshot has Rust's shape, field for field.
  const mine = JSON.parse(t.snapshot());
  assert.deepEqual(Object.keys(mine), Object.keys(rust));
  assert.deepEqual(Object.keys(mine.state).sort(), Object.keys(rust.state).sort());
  assert.deepEqual(mine.state.mine, [8, 'n0-beef-3']);
  assert.equal(mine.state.flushing, false);
});

test('waiting adds cross a live swap and are flushed by the new version', async () => {
  const t = await TestNode.start(node, 'n0', ['n0']);
  let out = await t.deliver('c1', { type: 'add', delta: 5, msg_id: 1 });
  const oldRead = out[0].body.msg_id;
  assert.deepEqual(await t.deliver('c1', { type: 'add', delta: 3, msg_id: 2 }), []);
  out = await t.upgrade(node);
  const read = kvRequest(out, 'read');
  assert.deepEqual(await t.deliver('seq-kv', { type: 'read_ok', value: [0, ''], in_reply_to: oldRead }), []);
  out = await t.deliver('seq-kv', { type: 'read_ok', value: [5, 'n0-x-1'], in_reply_to: read.msg_id });
  const cas = kvRequest(out, 'cas');
  assert.deepEqual(cas.from, [5, 'n0-x-1']);
  assert.equal(cas.to[0], 8);
  out = await t.deliver('seq-kv', { type: 'cas_ok', in_reply_to: cas.msg_id });
  const acks = out.filter((s) => s.dest === 'c1');
  assert.equal(acks.length, 1);
  assert.equal(acks[0].body.in_reply_to, 2, 'only the add that waited');
});

test('a Rust boot beyond 2^53 is replaced by one a JS number holds exactly', async () => {
  const text = JSON.stringify({
    glomers_snapshot: 1, node_id: 'n0', node_ids: ['n0'], next_msg_id: 1, next_timer_id: 1,
    state: { boot: 0, next_tag: 4, mine: [5, 'x'], unflushed: 0, adds: [], flushing: false, seen: {}, reads: [], refreshing: false },
  }).replace('"boot":0', '"boot":18446744073709551615');
  const t = await TestNode.restore(node, text);
  const boot = JSON.parse(t.snapshot()).state.boot;
  assert.ok(Number.isSafeInteger(boot), String(boot));
  const read = kvRequest(await add(t, 1, 2), 'read');
  const cas = kvRequest(await answer(t, read, { type: 'read_ok', value: [5, 'x'] }), 'cas');
  assert.equal(cas.to[1], `n0-${boot.toString(16)}-5`);
});
