"""Challenge 2: unique ids, with no coordination.

An id is ``<node>-<boot>-<n>`` as in the Rust node: ``boot`` is a random 64-bit number
drawn when the node starts (in lowercase hex), so a restarted node never repeats an id
it gave out before, and ``n`` counts up from 1.
"""

import glomers


def build() -> glomers.Node:
    node = glomers.Node()
    boot = glomers.random_u64()
    count = 0

    @node.handler
    def generate(req: glomers.Message) -> dict:
        nonlocal count
        count += 1
        return {"type": "generate_ok", "id": f"{node.node_id}-{boot:x}-{count}"}

    return node


WitWorld = glomers.serve(build)
