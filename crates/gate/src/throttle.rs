//! A log line for a fault that can repeat thousands of times a second:
//! the first occurrence is logged at once, then at most one line per
//! period, saying how many were left unlogged in between. A flood of one
//! error must not fill the disk or take a core.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One throttled log line.
#[derive(Debug)]
pub(crate) struct Throttled {
    period: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last: Option<Instant>,
    unlogged: u64,
}

impl Throttled {
    /// At most one line per `period`.
    pub(crate) const fn new(period: Duration) -> Throttled {
        Throttled {
            period,
            state: Mutex::new(State {
                last: None,
                unlogged: 0,
            }),
        }
    }

    /// Calls `log` with the number of occurrences left unlogged since the
    /// last line, if a line is due; otherwise counts this one.
    pub(crate) fn occurred(&self, log: impl FnOnce(u64)) {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let due = match state.last {
            None => true,
            Some(last) => now.duration_since(last) >= self.period,
        };
        if due {
            let unlogged = std::mem::take(&mut state.unlogged);
            state.last = Some(now);
            drop(state);
            log(unlogged);
        } else {
            state.unlogged += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_becomes_one_line_per_period() {
        let throttled = Throttled::new(Duration::from_millis(50));
        let mut lines = Vec::new();
        for _ in 0..1000 {
            throttled.occurred(|unlogged| lines.push(unlogged));
        }
        assert_eq!(lines, [0]);
        std::thread::sleep(Duration::from_millis(60));
        throttled.occurred(|unlogged| lines.push(unlogged));
        assert_eq!(lines, [0, 999]);
    }
}
