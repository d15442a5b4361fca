//! The run's phases on the clients' side: the setup requests, the main phase's
//! operations at the asked rate, the quiet period and the final operations.

use super::*;

impl Run<'_> {
    pub(super) fn start_setup(
        &mut self,
        phase: Phase,
        calls: Vec<(usize, Value)>,
        first_client: u64,
    ) {
        self.phase = phase;
        self.setup.clear();
        for (k, (node, mut body)) in calls.into_iter().enumerate() {
            let client = first_client + k as u64;
            body["msg_id"] = json!(1);
            let expect = format!("{}_ok", body["type"].as_str().unwrap_or(""));
            self.setup.push(SetupCall {
                node,
                client,
                expect,
                reply: None,
            });
            let (msg, delay) = self.net.send(
                Addr::Client(client),
                Addr::Node(node),
                body.to_string(),
                &mut self.rng,
            );
            self.post(msg, delay);
        }
        let timeout = if phase == Phase::Init {
            INIT_TIMEOUT_NS
        } else {
            client::TIMEOUT_NS
        };
        self.schedule(timeout, Event::SetupTimeout(phase));
    }

    /// Moves on once every node answered the current setup request.
    pub(super) fn setup_progress(&mut self) {
        if self.setup.iter().any(|c| c.reply.is_none()) {
            return;
        }
        for c in &self.setup {
            let reply = c.reply.as_ref().unwrap_or(&Value::Null);
            if reply["type"] != json!(c.expect) || reply["in_reply_to"] != json!(1) {
                self.failures.push(Problem::from(format!(
                    "{} answered with {reply} instead of a {} (with in_reply_to 1); the test could not start",
                    self.cfg.nodes[c.node], c.expect
                )).node(&self.cfg.nodes[c.node]));
            }
        }
        if !self.failures.is_empty() {
            self.setup.clear();
            self.phase = Phase::Done;
            return;
        }
        if self.phase == Phase::Init {
            let calls: Vec<(usize, Value)> = (0..self.cfg.nodes.len())
                .filter_map(|i| Some((i, self.workload.setup(i)?)))
                .collect();
            if !calls.is_empty() {
                let first = self.next_client;
                self.next_client += calls.len() as u64;
                self.start_setup(Phase::Setup, calls, first);
                return;
            }
        }
        self.setup.clear();
        self.start_main();
    }

    pub(super) fn start_main(&mut self) {
        self.phase = Phase::Main;
        self.clients = Clients::new(
            self.cfg.concurrency,
            self.cfg.nodes.len(),
            &mut self.next_client,
        );
        self.cutoff = self.now + self.cfg.time_limit_ns;
        if self.cfg.rate > 0.0 {
            self.next_op_at = self.now;
            self.schedule(0, Event::Generate);
        }
        for stream in self
            .nemesis
            .as_ref()
            .map(Nemesis::streams)
            .unwrap_or_default()
        {
            self.schedule(0, Event::Nemesis(stream));
        }
        if let Some(plan) = &self.cfg.upgrade {
            let roll = Roll::new(
                plan,
                &self.cfg.nodes,
                self.now,
                self.cfg.time_limit_ns,
                &mut self.rng,
            );
            self.schedule(roll.start_ns() - self.now, Event::Upgrade);
            self.roll = Some(roll);
        }
        self.schedule(self.cfg.time_limit_ns, Event::EndMain);
    }

    /// The generator's next operation is due: give it to a free client, if any.
    pub(super) fn generate(&mut self) {
        if self.phase != Phase::Main || self.now >= self.cutoff {
            return;
        }
        // On the real clock an event fires late; the lag is noted, and the next
        // operation is due from when this one was due, not from when it fired, so late
        // wake-ups do not add up and the clients deliver the asked rate.
        self.behind_ns = self.behind_ns.max(self.now.saturating_sub(self.next_op_at));
        match self.clients.random_free(&mut self.rng) {
            Some(t) => {
                let op = self.workload.next_op(t, &mut self.rng);
                self.invoke(t, op, false);
                // Uniform in [0, 2/rate): `rate` operations per second on average.
                let gap = self.rng.below((2e9 / self.cfg.rate) as u64);
                self.next_op_at += gap;
                self.queue.push(self.next_op_at, Event::Generate);
            }
            None => self.op_waiting = true,
        }
    }

    pub(super) fn invoke(&mut self, thread: usize, op: Op, is_final: bool) {
        let req = self
            .clients
            .invoke(thread, op, is_final, self.now, &*self.workload);
        let (msg, delay) = self.net.send(req.src, req.dest, req.body, &mut self.rng);
        self.post(msg, delay);
        self.schedule(
            client::TIMEOUT_NS,
            Event::Timeout {
                thread,
                msg_id: req.msg_id,
            },
        );
    }

    /// Hands the operation that just completed to the workload's generator.
    pub(super) fn tell_workload(&mut self) {
        let entries = &self.clients.history.entries;
        let Some(done) = entries.last() else { return };
        let Some(invoked) = done.invoke.and_then(|i| entries.get(i)) else {
            return;
        };
        // A thread's processes are its index plus multiples of the concurrency.
        let thread = (done.process % self.clients.workers.len().max(1) as u64) as usize;
        let is_final = done.is_final;
        self.workload.completed(thread, invoked, done);
        if is_final {
            if let Some((wait, op)) = self.workload.next_final_op(thread, self.now, &mut self.rng) {
                self.finals_due += 1;
                self.schedule(wait, Event::FinalOp { thread, op });
            }
        }
    }

    /// A client became free.
    pub(super) fn after_completion(&mut self) -> Result<()> {
        match self.phase {
            Phase::Main if self.op_waiting => {
                self.op_waiting = false;
                // Every client was busy: the next operation is due now, when one is free.
                self.next_op_at = self.now;
                self.generate();
            }
            Phase::Drain if self.clients.all_free() => {
                if self.workload.final_op(0).is_some() {
                    // As Maelstrom: heal the network, let the nodes converge, then read.
                    // As Maelstrom: heal the network, resume and restart the nodes,
                    // let them converge, then read.
                    let heal = self.nemesis.as_mut().map(|n| n.heal(self.now));
                    for action in heal.unwrap_or_default() {
                        self.fault(action)?;
                    }
                    self.phase = Phase::Quiet;
                    self.schedule(QUIET_NS, Event::FinalOps);
                } else {
                    self.phase = Phase::Done;
                }
            }
            Phase::Final if self.clients.all_free() && self.finals_due == 0 => {
                self.phase = Phase::Done
            }
            _ => {}
        }
        Ok(())
    }
}
