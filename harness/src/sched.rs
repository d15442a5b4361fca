//! The queue of everything that will happen in a run (deliveries, timer firings,
//! client and nemesis steps), ordered by time and then by the order they were
//! scheduled, so that ties resolve the same way every run and a seed replays a run.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Events of type `E`, each due at a time in ns since the run began.
pub struct Queue<E> {
    heap: BinaryHeap<Scheduled<E>>,
    seq: u64,
}

struct Scheduled<E> {
    time: u64,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Scheduled<E> {
    fn eq(&self, o: &Self) -> bool {
        (self.time, self.seq) == (o.time, o.seq)
    }
}
impl<E> Eq for Scheduled<E> {}
impl<E> PartialOrd for Scheduled<E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Scheduled<E> {
    // Reversed: BinaryHeap is a max-heap and we want the earliest first.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.time, o.seq).cmp(&(self.time, self.seq))
    }
}

impl<E> Default for Queue<E> {
    fn default() -> Self {
        Queue {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<E> Queue<E> {
    /// Schedules `event` at `time`.
    pub fn push(&mut self, time: u64, event: E) {
        self.seq += 1;
        self.heap.push(Scheduled {
            time,
            seq: self.seq,
            event,
        });
    }

    /// When the earliest event is due, if any.
    pub fn next_time(&self) -> Option<u64> {
        self.heap.peek().map(|s| s.time)
    }

    /// The earliest event, if it is due at or before `now`.
    pub fn pop_due(&mut self, now: u64) -> Option<E> {
        match self.heap.peek() {
            Some(s) if s.time <= now => self.heap.pop().map(|s| s.event),
            _ => None,
        }
    }

    /// How many events are waiting.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_and_ties_in_the_order_scheduled() {
        let mut q = Queue::default();
        q.push(20, "late");
        q.push(10, "first");
        q.push(10, "second");
        q.push(5, "earliest");
        assert_eq!(q.next_time(), Some(5));
        assert_eq!(q.pop_due(4), None, "nothing is due before 5");
        let mut order = Vec::new();
        while let Some(e) = q.pop_due(15) {
            order.push(e);
        }
        assert_eq!(order, ["earliest", "first", "second"]);
        assert_eq!((q.len(), q.next_time()), (1, Some(20)));
    }
}
