//! The nemesis's faults and the rolling upgrade's turns, carried out on the nodes:
//! partitions and heals on the network; kills, restarts, pauses and resumes on the
//! nodes with what was queued for them; a node's switch to the new version.

use super::*;

impl Run<'_> {
    /// Carries out one nemesis operation.
    pub(super) fn fault(&mut self, action: Action) -> Result<()> {
        match action {
            Action::Partition { grudge, .. } => self.net.partition(&grudge),
            Action::Heal => self.net.heal(),
            Action::Kill(nodes) => {
                for i in nodes {
                    self.backend.kill(i, self.now)?;
                    // Its timers, what waited for it, and a pending init die with it.
                    self.timers[i].clear();
                    self.held[i].clear();
                    self.restarts.retain(|_, (node, _)| *node != i);
                }
            }
            Action::Start(nodes) => {
                for i in nodes {
                    let seed = self.rng.next_u64();
                    let upgraded = self.roll.as_ref().is_some_and(|r| r.reached(i));
                    self.backend.restart(i, seed, self.now, upgraded)?;
                    if let Some(roll) = &mut self.roll {
                        roll.started(i, self.now);
                    }
                    self.send_init(i)?;
                }
            }
            Action::Pause(nodes) => {
                for i in nodes {
                    self.backend.pause(i, self.now)?;
                }
            }
            Action::Resume(nodes) => {
                for i in nodes {
                    self.backend.resume(i, self.now)?;
                    // Its switch comes before what waited for it, as its turn did.
                    if self.roll.as_ref().is_some_and(|r| r.waiting(i)) {
                        self.upgrade_node(i, How::Resumed)?;
                    }
                    for e in std::mem::take(&mut self.held[i]) {
                        self.queue.push(self.now, e);
                    }
                }
            }
        }
        Ok(())
    }

    /// The roll reaches its next node: a running node switches now; a paused or
    /// killed one waits until it resumes or starts again.
    pub(super) fn upgrade_turn(&mut self) -> Result<()> {
        let Some(roll) = &mut self.roll else {
            return Ok(());
        };
        let Some((node, next)) = roll.turn(self.now) else {
            return Ok(());
        };
        if let Some(gap) = next {
            self.schedule(gap, Event::Upgrade);
        }
        if self.node_state(node) == NodeState::Up {
            self.upgrade_node(node, How::Live)?;
        }
        Ok(())
    }

    /// Switches running node `node` to the new version and records what it said.
    pub(super) fn upgrade_node(&mut self, node: usize, how: How) -> Result<()> {
        let r = self.backend.upgrade(node, self.now, &mut self.outs)?;
        self.apply_outputs();
        if let Some(roll) = &mut self.roll {
            roll.switched(node, self.now, how, r);
        }
        Ok(())
    }

    pub(super) fn node_state(&self, node: usize) -> NodeState {
        self.nemesis
            .as_ref()
            .map_or(NodeState::Up, |n| n.state(node))
    }
}
