// End-to-end tests of the JS components under the real host (`make js-test`, after
// `make js`): the misbehaving fixture under `host run` (crash, async crash, runaway
// loop, memory, async replies, guest arguments), every challenge under `host test`
// with its graded setting (3d/3e checked against the official bars), and mixed
// Rust/JS clusters through `host test --upgrade` when the Rust components are built.
//
// GLOMERS_HOST: the host binary (js.mk sets it from $(HOST)). GLOMERS_RUST_WASM: where
// the Rust challenges are (default challenges/, as `make challenges` leaves them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HOST = process.env.GLOMERS_HOST ?? 'target/release/host';
const RUST = process.env.GLOMERS_RUST_WASM ?? 'challenges';
const JS = (name) => `challenges/js/${name}.wasm`;
const FIXTURE = 'sdk/js/fixtures/misbehave.wasm';

for (const f of [HOST, FIXTURE, ...['echo', 'unique-ids', 'broadcast', 'g-counter', 'kafka'].map(JS)]) {
  if (!existsSync(f)) throw new Error(`missing ${f}: run \`make js\` (and build the host) first`);
}

/** Runs `host run` on the fixture with these messages on stdin; returns the bodies sent and stderr. */
function run(messages, options = [], args = []) {
  const init = { src: 'c0', dest: 'n1', body: { type: 'init', msg_id: 1, node_id: 'n1', node_ids: ['n1'] } };
  const lines = [init, ...messages.map((body, i) => ({ src: 'c1', dest: 'n1', body: { msg_id: i + 2, ...body } }))];
  const r = spawnSync(HOST, ['run', ...options, FIXTURE, ...args], {
    input: lines.map((l) => JSON.stringify(l)).join('\n') + '\n',
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.error, undefined, String(r.error));
  const out = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return { bodies: out.map((m) => m.body), stderr: r.stderr, all: out };
}

/** Runs `host test` with --json; returns the parsed result and the exit status. */
function hostTest(args) {
  const dir = mkdtempSync(join(tmpdir(), 'glomers-js-e2e-'));
  try {
    const json = join(dir, 'result.json');
    const r = spawnSync(HOST, ['test', '--json', json, '--store', join(dir, 'store'), ...args], {
      encoding: 'utf8',
      timeout: 600_000,
    });
    const result = existsSync(json) ? JSON.parse(readFileSync(json, 'utf8')) : null;
    return { status: r.status, result, output: `${r.stdout}\n${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('host run: async replies leave before the call returns; guest arguments arrive', () => {
  const { bodies } = run([{ type: 'await_resolved' }, { type: 'args' }], [], ['--x', '1', '--', 'y']);
  assert.deepEqual(bodies[0], { type: 'init_ok', in_reply_to: 1 });
  assert.deepEqual(bodies[1], { type: 'await_resolved_ok', v: 42, in_reply_to: 2 });
  assert.deepEqual(bodies[2].args, ['--x', '1', 'y']);
});

test('host run: a Maelstrom error on purpose is an error reply, sync or async', () => {
  const { bodies } = run([{ type: 'refuse' }, { type: 'refuse_async' }, { type: 'count' }]);
  assert.deepEqual(bodies[1], { type: 'error', code: 14, text: 'refused on purpose', in_reply_to: 2 });
  assert.deepEqual(bodies[2], { type: 'error', code: 30, text: 'later', in_reply_to: 3 });
  assert.equal(bodies[3].handled, 1, 'no crash: the same instance');
});

test('host run: an exception traps: error 13, the call\'s sends dropped, a fresh instance', () => {
  const { bodies, all, stderr } = run([{ type: 'count' }, { type: 'crash' }, { type: 'count' }, { type: 'crash_async' }, { type: 'count' }]);
  assert.equal(bodies[1].handled, 1);
  assert.equal(bodies[2].code, 13);
  assert.equal(bodies[2].in_reply_to, 3);
  assert.ok(!all.some((m) => m.dest === 'c9'), 'the crashed call\'s send is dropped');
  assert.equal(bodies[3].handled, 1, 'a fresh instance, replayed its init');
  assert.equal(bodies[4].code, 13, 'an async handler\'s exception traps too');
  assert.equal(bodies[5].handled, 1);
  assert.match(stderr, /can't access property "boom" of null/);
  assert.match(stderr, /async bug/);
});

test('host run: a runaway loop is stopped by the default call budget', () => {
  const { bodies, stderr } = run([{ type: 'loop' }, { type: 'count' }]);
  assert.equal(bodies[1].code, 13);
  assert.match(bodies[1].text, /budget/);
  assert.match(stderr, /over its time budget/);
  assert.equal(bodies[2].handled, 1);
});

test('host run: memory past the default limit (256 MiB) traps; 200 MiB of data fits', () => {
  let { bodies, stderr } = run([{ type: 'hog' }, { type: 'count' }]);
  assert.equal(bodies[1].code, 13);
  assert.match(stderr, /memory limit/);
  assert.equal(bodies[2].handled, 1);
  ({ bodies } = run([{ type: 'alloc', mb: 200 }]));
  assert.deepEqual(bodies[1], { type: 'alloc_ok', mb: 200, in_reply_to: 2 });
});

/** The graded settings: challenges/challenges.toml, their one home (read through
 * scripts/grade.py, which prints it as JSON). */
const SPEC = JSON.parse(spawnSync('python3', ['scripts/grade.py', 'json'], { encoding: 'utf8' }).stdout);
const words = (s) => (s ?? '').split(/\s+/).filter(Boolean);
const GRADED = {};
const ARGS = {};
const BARS = {};
for (const [grade, g] of Object.entries(SPEC.grade)) {
  if (g.languages && !g.languages.includes('js')) continue;
  GRADED[grade] = words(g.options);
  ARGS[grade] = words(g.args);
  if (g.official) BARS[grade] = { msgsPerOp: g.official['msgs-per-op'], median: g.official['median-ms'], max: g.official['max-ms'] };
}

for (const [grade, options] of Object.entries(GRADED)) {
  const component = SPEC.grade[grade].component;
  test(`host test: ${grade} is valid${BARS[grade] ? ' and meets the official bars' : ''}`, () => {
    const args = ARGS[grade] ?? [];
    const { status, result, output } = hostTest([...options, '--seed', '7', JS(component), ...(args.length ? ['--', ...args] : [])]);
    assert.equal(status, 0, output);
    assert.equal(result.valid, true);
    assert.equal(result.crashes.count, 0, 'no crash');
    const bar = BARS[grade];
    if (bar) {
      const lat = result.workload['stable-latencies'];
      const figures = `msgs-per-op ${result.net.servers['msgs-per-op']}, median ${lat['0.5']}, max ${lat['1']}`;
      assert.ok(result.net.servers['msgs-per-op'] < bar.msgsPerOp, figures);
      assert.ok(lat['0.5'] < bar.median, figures);
      assert.ok(lat['1'] < bar.max, figures);
    }
  });
}

// Mixed clusters: a roll from one language to the other, one node at a time, the
// state carried (handoff) both ways.
const UPGRADES = [
  ['broadcast', GRADED['broadcast-c'], []],
  ['g-counter', GRADED['g-counter'], []],
  ['kafka', ['-w', 'kafka', '--node-count', '2', '--concurrency', '2n', '--time-limit', '10', '--rate', '500'], []],
  ['kafka', ['-w', 'kafka', '--node-count', '2', '--concurrency', '2n', '--time-limit', '10', '--rate', '300'], ['--lin-kv']],
];
for (const [name, options, args] of UPGRADES) {
  for (const [from, to] of [['js', 'rust'], ['rust', 'js']]) {
    const path = (lang) => (lang === 'js' ? JS(name) : join(RUST, `${name}.wasm`));
    const rustThere = existsSync(path('rust'));
    test(`host test --upgrade: ${name}${args.length ? ' ' + args.join(' ') : ''} rolls from ${from} to ${to}, state carried`, { skip: rustThere ? false : `no Rust component at ${path('rust')} (make challenges)` }, () => {
      const { status, result, output } = hostTest([...options, '--seed', '3', '--upgrade', path(to), path(from), ...(args.length ? ['--', ...args] : [])]);
      assert.equal(status, 0, output);
      assert.equal(result.valid, true);
      const m = output.match(/(\d+) of (\d+) switched, (\d+) with their state/);
      assert.ok(m, output);
      assert.equal(m[1], m[2], output);
      assert.equal(m[3], m[2], 'every node carried its state over');
    });
  }
}

// The ports behave as the Rust designs do: under one seed the harness's run is the
// same message for message, so the figures are equal.
const TWINS = [
  ['broadcast-d', 'broadcast'],
  ['broadcast-e', 'broadcast'],
  ['g-counter', 'g-counter'],
  ['kafka-b', 'kafka'],
];
for (const [grade, name] of TWINS) {
  const rust = join(RUST, `${name}.wasm`);
  test(`same seed, same figures as Rust: ${grade}`, { skip: existsSync(rust) ? false : `no Rust component at ${rust} (make challenges)` }, () => {
    const args = ARGS[grade] ?? [];
    const run1 = (wasm) => hostTest([...GRADED[grade], '--seed', '11', wasm, ...(args.length ? ['--', ...args] : [])]);
    const [r, j] = [run1(rust), run1(JS(name))];
    assert.equal(j.status, 0, j.output);
    assert.deepEqual(j.result.net, r.result.net);
    assert.deepEqual(j.result.workload['stable-latencies'], r.result.workload['stable-latencies']);
  });
}
