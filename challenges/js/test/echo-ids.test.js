import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestNode } from '../../../sdk/js/testing.js';
import echo from '../echo.js';
import uniqueIds from '../unique-ids.js';

test('echo echoes the payload', async () => {
  const t = await TestNode.start(echo, 'n1', ['n1']);
  const out = await t.deliver('c1', { type: 'echo', echo: { any: ['json', 1] }, msg_id: 4 });
  assert.deepEqual(out, [{ dest: 'c1', body: { type: 'echo_ok', echo: { any: ['json', 1] }, in_reply_to: 4 } }]);
});

test('unique ids are unique across nodes and restarts, with no coordination', async () => {
  const seen = new Set();
  for (const me of ['n1', 'n2', 'n1']) {
    const t = await TestNode.start(uniqueIds, me, ['n1', 'n2']);
    for (let i = 0; i < 1000; i += 1) {
      const out = await t.deliver('c1', { type: 'generate', msg_id: i });
      assert.equal(out.length, 1);
      assert.equal(out[0].body.type, 'generate_ok');
      assert.match(out[0].body.id, new RegExp(`^${me}-[0-9a-f]+-${i + 1}$`));
      assert.ok(!seen.has(out[0].body.id), out[0].body.id);
      seen.add(out[0].body.id);
    }
    assert.deepEqual(await t.advance(10000), []);
  }
  assert.equal(seen.size, 3000);
});
