// The one module that reaches the host: the WIT imports of glomers:node/host and the
// guest arguments from WASI. Native tests never load it (sdk/js/testing.js hands the
// node a double instead); only component.js imports it.
import { send, setTimer, cancelTimer } from 'glomers:node/host@0.1.0';
import { getArguments } from 'wasi:cli/environment@0.2.3';

/** @type {import('./glomers.js').Host & { args(): string[] }} */
export const host = {
  send,
  // u64 on the WIT side is a BigInt here.
  setTimer: (id, delayMs) => setTimer(BigInt(id), BigInt(delayMs)),
  cancelTimer: (id) => cancelTimer(BigInt(id)),
  // Without the program's name, as Rust's glomers::args().
  args: () => getArguments().slice(1),
};
