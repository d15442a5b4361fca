// Challenge 1: echo. Replies to every `echo` with the same payload.
import { Node } from '../../sdk/js/glomers.js';

export default function node() {
  return new Node().on('echo', (req) => ({ type: 'echo_ok', echo: req.body.echo }));
}
