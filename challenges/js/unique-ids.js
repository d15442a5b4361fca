// Challenge 2: unique ids. Every id is `<node>-<boot>-<n>`: the node's own id, a
// random number drawn when this instance started (so a restarted node never reuses
// an id), and a counter. No node ever talks to another, so partitions cannot hurt.
// (The same design and id format as challenges/unique-ids in Rust.)
import { Node, randomU64 } from '../../sdk/js/glomers.js';

export default function node() {
  const boot = randomU64().toString(16);
  let next = 0;
  return new Node().on('generate', (req, n) => {
    next += 1;
    return { type: 'generate_ok', id: `${n.id}-${boot}-${next}` };
  });
}
