// The SDK's native tests: `node --test sdk/js/test/` (make js-test runs them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Args, KV, MaelstromError, Node, code, codeName, decode, isDefinite, isRetryable, linKV, seqKV,
} from '../glomers.js';
import { TestNode } from '../testing.js';

const echo = () => new Node().on('echo', (req) => ({ type: 'echo_ok', echo: req.body.echo }));

test('init is answered by the SDK and the node learns its ids', async () => {
  const t = new TestNode(echo);
  const out = await t.deliver('c0', { type: 'init', msg_id: 7, node_id: 'n2', node_ids: ['n1', 'n2', 'n3'] });
  assert.deepEqual(out, [{ dest: 'c0', body: { type: 'init_ok', in_reply_to: 7 } }]);
  assert.equal(t.node.id, 'n2');
  assert.deepEqual(t.node.nodeIds, ['n1', 'n2', 'n3']);
  assert.deepEqual(t.node.peers, ['n1', 'n3']);
});

test('a handler returning a body replies with in_reply_to and no msg_id', async () => {
  const t = await TestNode.start(echo, 'n1', ['n1']);
  const out = await t.deliver('c1', { type: 'echo', echo: 'hi', msg_id: 4 });
  assert.deepEqual(out, [{ dest: 'c1', body: { type: 'echo_ok', echo: 'hi', in_reply_to: 4 } }]);
});

test('a request is {src, msg_id, body}, as the Rust SDK serialises Request', async () => {
  let seen;
  const t = await TestNode.start(() => new Node().on('x', (req) => { seen = req; }), 'n1', ['n1']);
  await t.deliver('c1', { type: 'x', msg_id: 4 });
  assert.deepEqual(seen, { src: 'c1', msg_id: 4, body: { type: 'x', msg_id: 4 } });
  await t.deliver('c1', { type: 'x' });
  assert.equal(seen.msg_id, null);
});

test('node.reply in Maelstrom style, and send', async () => {
  const t = await TestNode.start(() => new Node().on('ping', (req, node) => {
    node.send('n2', { type: 'note' });
    node.reply(req, { type: 'pong' });
  }), 'n1', ['n1', 'n2']);
  const out = await t.deliver('c1', { type: 'ping', msg_id: 1 });
  assert.deepEqual(out, [
    { dest: 'n2', body: { type: 'note' } },
    { dest: 'c1', body: { type: 'pong', in_reply_to: 1 } },
  ]);
});

test('unknown types get error 10, undecodable bodies error 12, raised errors their code', async () => {
  const t = await TestNode.start(() => new Node()
    .on('add', { delta: 'uint' }, (req) => ({ type: 'add_ok', got: req.body.delta }))
    .on('nope', () => { throw MaelstromError.keyDoesNotExist('no such key'); })
    .on('later', async () => { await null; throw new MaelstromError(code.TXN_CONFLICT, 'conflict'); }), 'n1', ['n1']);
  let out = await t.deliver('c1', { type: 'frob', msg_id: 1 });
  assert.equal(out[0].body.type, 'error');
  assert.equal(out[0].body.code, 10);
  assert.equal(out[0].body.in_reply_to, 1);
  out = await t.deliver('c1', { type: 'add', delta: -1, msg_id: 2 });
  assert.equal(out[0].body.code, 12);
  out = await t.deliver('c1', { type: 'add', delta: 3, msg_id: 3 });
  assert.deepEqual(out[0].body, { type: 'add_ok', got: 3, in_reply_to: 3 });
  out = await t.deliver('c1', { type: 'nope', msg_id: 4 });
  assert.deepEqual(out[0].body, { type: 'error', code: 20, text: 'no such key', in_reply_to: 4 });
  out = await t.deliver('c1', { type: 'later', msg_id: 5 });
  assert.deepEqual(out[0].body, { type: 'error', code: 30, text: 'conflict', in_reply_to: 5 });
  // A message without msg_id gets no error reply (it is reported on stderr).
  out = await t.deliver('c1', { type: 'frob' });
  assert.deepEqual(out, []);
});

test('a body that is not an object, or has a bad msg_id, is dropped', async () => {
  const t = await TestNode.start(echo, 'n1', ['n1']);
  assert.deepEqual(await t.deliver('c1', '[1,2]'), []);
  assert.deepEqual(await t.deliver('c1', 'not json'), []);
  assert.deepEqual(await t.deliver('c1', { type: 'echo', msg_id: 'x' }), []);
});

test('an exception that is not a MaelstromError is a crash, sync or async', async () => {
  const t = await TestNode.start(() => new Node()
    .on('sync', () => { throw new TypeError('bug'); })
    .on('async', async () => { await Promise.resolve(); null.x; })
    .on('spawned', (req, node) => { node.spawn(async () => { await null; throw new Error('task bug'); }); }),
  'n1', ['n1']);
  await assert.rejects(t.deliver('c1', { type: 'sync', msg_id: 1 }), TypeError);
  const t2 = await TestNode.start(() => new Node().on('async', async () => { await Promise.resolve(); null.x; }), 'n1', ['n1']);
  await assert.rejects(t2.deliver('c1', { type: 'async', msg_id: 1 }), TypeError);
  const t3 = await TestNode.start(() => new Node().on('spawned', (req, node) => {
    node.spawn(async () => { await null; throw new Error('task bug'); });
  }), 'n1', ['n1']);
  await assert.rejects(t3.deliver('c1', { type: 'spawned', msg_id: 1 }), /task bug/);
});

test('an async handler that awaits a resolved promise replies before the call returns', async () => {
  const t = await TestNode.start(() => new Node().on('x', async () => {
    const v = await Promise.resolve(41);
    await null;
    return { type: 'x_ok', v: v + 1 };
  }), 'n1', ['n1']);
  const out = await t.deliver('c1', { type: 'x', msg_id: 1 });
  assert.deepEqual(out[0].body, { type: 'x_ok', v: 42, in_reply_to: 1 });
});

const asker = () => new Node()
  .on('ask', async (req, node) => {
    const r = await node.call('n2', { type: 'question' }, 500);
    return { type: 'ask_ok', answer: r.body.answer, from: r.src };
  })
  .on('ask_cb', (req, node) => {
    node.rpc('n2', { type: 'question' }, (err, r) => {
      if (err) node.replyError(req, err);
      else node.reply(req, { type: 'ask_ok', answer: r.body.answer });
    }, 500);
  });

test('call: the reply resolves it; msg_ids are assigned by the SDK', async () => {
  const t = await TestNode.start(asker, 'n1', ['n1', 'n2']);
  let out = await t.deliver('c1', { type: 'ask', msg_id: 1 });
  assert.equal(out.length, 1);
  assert.equal(out[0].dest, 'n2');
  assert.equal(out[0].body.type, 'question');
  const q = out[0].body.msg_id;
  assert.equal(q, 1);
  out = await t.deliver('n2', { type: 'answer', answer: 42, in_reply_to: q });
  assert.deepEqual(out, [{ dest: 'c1', body: { type: 'ask_ok', answer: 42, from: 'n2', in_reply_to: 1 } }]);
  // The timeout timer was cancelled: nothing fires later.
  assert.deepEqual(await t.advance(5000), []);
  assert.equal(t.timers.size, 0);
});

test('call: an error reply rejects with its code; a missing reply times out (code 0)', async () => {
  const t = await TestNode.start(asker, 'n1', ['n1', 'n2']);
  let out = await t.deliver('c1', { type: 'ask', msg_id: 1 });
  out = await t.deliver('n2', { type: 'error', code: 11, text: 'busy', in_reply_to: out[0].body.msg_id });
  assert.deepEqual(out[0].body, { type: 'error', code: 11, text: 'busy', in_reply_to: 1 });
  out = await t.deliver('c1', { type: 'ask', msg_id: 2 });
  const late = out[0].body.msg_id;
  assert.deepEqual(await t.advance(499), []);
  out = await t.advance(1);
  assert.equal(out[0].body.code, 0);
  assert.equal(out[0].body.in_reply_to, 2);
  assert.match(out[0].body.text, /no reply from n2 within 500 ms/);
  // A reply after the timeout is dropped.
  assert.deepEqual(await t.deliver('n2', { type: 'answer', answer: 1, in_reply_to: late }), []);
});

test('rpc with a callback, both outcomes', async () => {
  const t = await TestNode.start(asker, 'n1', ['n1', 'n2']);
  let out = await t.deliver('c1', { type: 'ask_cb', msg_id: 1 });
  out = await t.deliver('n2', { type: 'answer', answer: 'yes', in_reply_to: out[0].body.msg_id });
  assert.deepEqual(out[0].body, { type: 'ask_ok', answer: 'yes', in_reply_to: 1 });
  await t.deliver('c1', { type: 'ask_cb', msg_id: 2 });
  out = await t.advance(500);
  assert.equal(out[0].body.code, 0);
});

test('timers: after, every, cancel (also from inside its own callback), sleep', async () => {
  const log = [];
  const t = await TestNode.start(() => {
    const node = new Node();
    let ticks = 0;
    node.every(100, () => { log.push(`tick${++ticks}`); });
    node.onInit(() => {
      node.after(250, () => log.push('after'));
      const gone = node.after(300, () => log.push('never'));
      node.cancel(gone);
      const self = node.every(40, () => { log.push('self'); node.cancel(self); });
    });
    node.on('nap', async (req, n) => { await n.sleep(1000); return { type: 'nap_ok' }; });
    return node;
  }, 'n1', ['n1']);
  await t.advance(300);
  assert.deepEqual(log, ['self', 'tick1', 'tick2', 'after', 'tick3']);
  await t.deliver('c1', { type: 'nap', msg_id: 1 });
  assert.deepEqual(await t.advance(999), []);
  const out = await t.advance(1);
  assert.deepEqual(out[0].body, { type: 'nap_ok', in_reply_to: 1 });
});

test('KV clients: read, read-or-default, write, cas with create_if_not_exists', async () => {
  const t = await TestNode.start(() => new Node().on('add', async (req, node) => {
    const kv = seqKV(node);
    for (;;) {
      const now = await kv.readOr('counter', 0);
      try {
        await kv.cas('counter', now, now + req.body.delta, true);
        return { type: 'add_ok' };
      } catch (e) {
        if (!isRetryable(e)) throw e;
      }
    }
  }).on('put', async (req, node) => {
    await linKV(node).write('k', req.body.v);
    return { type: 'put_ok', v: await new KV(node, 'lww-kv').read('k') };
  }), 'n1', ['n1']);
  let out = await t.deliver('c1', { type: 'add', delta: 2, msg_id: 1 });
  assert.deepEqual(out[0], { dest: 'seq-kv', body: { type: 'read', key: 'counter', msg_id: 1 } });
  out = await t.deliver('seq-kv', { type: 'error', code: 20, in_reply_to: 1 });
  assert.deepEqual(out[0].body, { type: 'cas', key: 'counter', from: 0, to: 2, create_if_not_exists: true, msg_id: 2 });
  out = await t.deliver('seq-kv', { type: 'error', code: 22, text: 'mismatch', in_reply_to: 2 });
  assert.equal(out[0].body.type, 'read');
  out = await t.deliver('seq-kv', { type: 'read_ok', value: 5, in_reply_to: out[0].body.msg_id });
  assert.deepEqual([out[0].body.from, out[0].body.to], [5, 7]);
  out = await t.deliver('seq-kv', { type: 'cas_ok', in_reply_to: out[0].body.msg_id });
  assert.deepEqual(out, [{ dest: 'c1', body: { type: 'add_ok', in_reply_to: 1 } }]);

  out = await t.deliver('c1', { type: 'put', v: 9, msg_id: 2 });
  assert.deepEqual(out[0], { dest: 'lin-kv', body: { type: 'write', key: 'k', value: 9, msg_id: 5 } });
  out = await t.deliver('lin-kv', { type: 'write_ok', in_reply_to: 5 });
  assert.equal(out[0].dest, 'lww-kv');
  out = await t.deliver('lww-kv', { type: 'read_ok', value: 9, in_reply_to: 6 });
  assert.deepEqual(out[0].body, { type: 'put_ok', v: 9, in_reply_to: 2 });
});

test('guest arguments: --name value, --name=value, flags, positionals, problems', () => {
  let a = new Args(['--', 'seq-kv', '--n=3', '--n', '4', '--on', '--m', 'x']);
  assert.equal(a.uint('--n', 0), 4, 'the last one wins');
  assert.equal(a.flag('--on'), true);
  assert.equal(a.flag('--off'), false);
  assert.equal(a.value('--m'), 'x');
  assert.equal(a.positional(), 'seq-kv');
  assert.equal(a.positional(), undefined);
  assert.deepEqual(a.finish(), []);
  a = new Args(['--n', 'soon', '--k', '--stray', 'word']);
  assert.equal(a.uint('--n', 7), 7);
  assert.equal(a.value('--k'), undefined);
  const problems = a.finish();
  assert.equal(problems.length, 4, String(problems));
  assert.match(problems[0], /--n "soon"/);
  assert.match(problems[1], /--k needs a value/);
  assert.match(problems[2], /--stray/);
  assert.match(problems[3], /word/);
});

test('error codes: names and which are definite', () => {
  const definite = [...Array(2000).keys()].filter(isDefinite);
  assert.deepEqual(definite, [1, 10, 11, 12, 14, 20, 21, 22, 30]);
  assert.equal(codeName(22), 'precondition-failed');
  assert.equal(codeName(1005), 'unknown');
  assert.throws(() => decode({ a: 'x' }, { a: 'integer' }), (e) => e instanceof MaelstromError && e.code === 12);
  assert.deepEqual(decode({ a: [1], b: undefined }, { a: 'integer[]', b: 'string?' }), { a: [1], b: undefined });
});

test('handoff: the snapshot envelope, ids continued, old timers ignored', async () => {
  const v1 = () => {
    const node = new Node().handoff();
    node.state = { n: 0 };
    node.on('add', () => { node.state.n += 1; return { type: 'add_ok' }; });
    node.every(100, () => {});
    node.on('ask', (req, n) => { n.rpc('n2', { type: 'q' }, () => {}); });
    return node;
  };
  const v2 = () => {
    const node = new Node().handoff();
    node.state = { n: 0 };
    node.onRestore(() => { node.state.resumed = true; });
    node.on('read', () => ({ type: 'read_ok', n: node.state.n, resumed: node.state.resumed }));
    node.on('ask', (req, n) => { n.rpc('n2', { type: 'q' }, () => {}); });
    return node;
  };
  const t = await TestNode.start(v1, 'n1', ['n1', 'n2']);
  await t.deliver('c1', { type: 'add', msg_id: 1 });
  await t.deliver('c1', { type: 'ask', msg_id: 2 });
  const snap = JSON.parse(t.snapshot());
  assert.deepEqual(snap, {
    glomers_snapshot: 1, node_id: 'n1', node_ids: ['n1', 'n2'],
    next_msg_id: 1, next_timer_id: 2, state: { n: 1 },
  });
  await t.upgrade(v2);
  let out = await t.deliver('c1', { type: 'read', msg_id: 3 });
  assert.deepEqual(out[0].body, { type: 'read_ok', n: 1, resumed: true, in_reply_to: 3 });
  // The old version's timers fire into ids the new one does not know: ignored.
  assert.deepEqual(await t.advance(5000), []);
  out = await t.deliver('c1', { type: 'ask', msg_id: 4 });
  assert.equal(out[0].body.msg_id, 2, 'msg ids go on past the old ones');
  assert.deepEqual(Object.keys(JSON.parse(t.snapshot())), Object.keys(snap));
});

test('restore refuses what it cannot read, and a node without handoff has no snapshot', async () => {
  const t = await TestNode.start(echo, 'n1', ['n1']);
  assert.equal(t.snapshot(), undefined);
  const h = () => new Node().handoff();
  await assert.rejects(TestNode.restore(h, 'nope'), /not a glomers snapshot/);
  await assert.rejects(TestNode.restore(h, { glomers_snapshot: 2 }), /snapshot format 2/);
  await assert.rejects(TestNode.restore(echo, {
    glomers_snapshot: 1, node_id: 'n1', node_ids: ['n1'], next_msg_id: 0, next_timer_id: 0, state: null,
  }), /no `.handoff\(\)`/);
});
