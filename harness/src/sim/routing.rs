//! Messages and timers between the event loop and the nodes: `init`, delivery to a
//! node, a service or a client, addresses by name, and what a node asked for (sends,
//! timers, restarts) turned into events.

use super::*;

impl Run<'_> {
    /// Sends `init` to a node that just started again, from a new client, and hands
    /// it over at once so that it is the first thing the fresh node hears.
    pub(super) fn send_init(&mut self, node: usize) -> Result<()> {
        let client = self.next_client;
        self.next_client += 1;
        let ids = &self.cfg.nodes;
        let body = json!({"type": "init", "msg_id": 1, "node_id": ids[node], "node_ids": ids});
        self.restarts.insert(client, (node, self.now));
        self.schedule(INIT_TIMEOUT_NS, Event::RestartTimeout { client });
        let (msg, _) = self.net.send(
            Addr::Client(client),
            Addr::Node(node),
            body.to_string(),
            &mut self.rng,
        );
        self.journal.sent(&msg, self.now);
        self.deliver(msg)
    }

    pub(super) fn deliver(&mut self, msg: Message) -> Result<()> {
        if let Addr::Node(i) = msg.dest {
            match self.node_state(i) {
                NodeState::Up => {}
                NodeState::Paused => {
                    self.held[i].push(Event::Deliver(msg));
                    return Ok(());
                }
                // Lost, as a message to a dead process is.
                NodeState::Down => {
                    self.journal.arrived(&msg, self.now, false);
                    return Ok(());
                }
            }
        }
        let delivered = self.net.receive(&msg);
        self.journal.arrived(&msg, self.now, delivered);
        if !delivered {
            return Ok(());
        }
        match msg.dest {
            Addr::Node(i) => {
                let src = self.name(msg.src);
                self.backend
                    .deliver(i, &msg, &src, self.now, &mut self.outs)?;
                self.apply_outputs();
            }
            Addr::Service(i) => {
                let src = self.name(msg.src);
                if let Some(reply) = self.services.handle(i, &src, &msg.body, &mut self.rng) {
                    let (reply, delay) = self.net.send(msg.dest, msg.src, reply, &mut self.rng);
                    self.post(reply, delay);
                }
            }
            Addr::Client(c) => {
                if let Some((node, started)) = self.restarts.remove(&c) {
                    let reply: Value = serde_json::from_str(&msg.body).unwrap_or(Value::Null);
                    if reply["type"] != "init_ok" || reply["in_reply_to"] != 1 {
                        self.failures.push(Problem::from(format!(
                            "{} answered the init after its restart at {:.3} s with {reply} instead of an init_ok (with in_reply_to 1)",
                            self.cfg.nodes[node],
                            started as f64 / 1e9
                        )).at(started).node(&self.cfg.nodes[node]));
                    }
                } else if let Some(call) = self.setup.iter_mut().find(|s| s.client == c) {
                    if call.reply.is_none() {
                        call.reply = serde_json::from_str(&msg.body).ok().or(Some(Value::Null));
                        self.setup_progress();
                    }
                } else if self.clients.on_reply(
                    c,
                    &msg.body,
                    self.now,
                    &*self.workload,
                    &mut self.next_client,
                ) {
                    self.tell_workload();
                    self.after_completion()?;
                }
            }
        }
        Ok(())
    }

    pub(super) fn name(&self, a: Addr) -> String {
        crate::journal::name(a, &self.cfg.nodes)
    }

    /// Where a message to `dest` goes; `None` for an unknown or closed endpoint.
    pub(super) fn resolve(&mut self, dest: &str) -> Option<Addr> {
        if let Some(&i) = self.node_index.get(dest) {
            return Some(Addr::Node(i));
        }
        if let Some(i) = Services::index(dest) {
            return Some(Addr::Service(i));
        }
        if let Some(c) = dest.strip_prefix('c').and_then(|n| n.parse::<u64>().ok()) {
            // Replies to clients that were closed since are dropped, as in Maelstrom.
            let open = self.clients.thread_of(c).is_some()
                || self.setup.iter().any(|s| s.client == c)
                || self.restarts.contains_key(&c);
            return open.then_some(Addr::Client(c));
        }
        *self.undeliverable.entry(dest.to_string()).or_default() += 1;
        None
    }

    pub(super) fn apply_outputs(&mut self) {
        if self.outs.is_empty() {
            return;
        }
        let mut outs = std::mem::take(&mut self.outs);
        for o in outs.drain(..) {
            match o {
                Output::Effect {
                    node,
                    effect: Effect::Send { dest, body },
                } => {
                    if let Some(dest) = self.resolve(&dest) {
                        let (msg, delay) =
                            self.net.send(Addr::Node(node), dest, body, &mut self.rng);
                        self.post(msg, delay);
                    }
                }
                Output::Effect {
                    node,
                    effect: Effect::SetTimer { id, delay_ms },
                } => {
                    self.timer_generation += 1;
                    let generation = self.timer_generation;
                    self.timers[node].insert(id, generation);
                    self.schedule(
                        delay_ms.saturating_mul(1_000_000),
                        Event::Timer {
                            node,
                            id,
                            generation,
                        },
                    );
                }
                Output::Effect {
                    node,
                    effect: Effect::CancelTimer { id },
                } => {
                    self.timers[node].remove(&id);
                }
                Output::Effect {
                    node,
                    effect: Effect::Restarted,
                } => self.timers[node].clear(),
                Output::Crashed { node, error } => {
                    self.crash_count += 1;
                    if self.crashes.len() < 10 {
                        self.crashes.push(CrashRecord {
                            node: self.cfg.nodes[node].clone(),
                            time: self.now as f64 / 1e9,
                            error,
                        });
                    }
                }
                Output::Fault { node, what } => {
                    // Under Maelstrom a garbled stdout or a dead process breaks the test
                    // at once: nothing after it could be judged.
                    if self.faults.len() < 20 {
                        self.faults.push(format!("{} {what}", self.cfg.nodes[node]));
                    }
                    if self.phase == Phase::Init {
                        self.could_not_start = true;
                    }
                    self.phase = Phase::Done;
                }
            }
        }
        // Keep the buffer's capacity.
        self.outs = outs;
    }
}
