//! The host's own diagnostics on stderr, written so that logging can never take a node
//! down: `eprintln!` panics when stderr is gone (Maelstrom stopped reading, a closed
//! pipe), which would kill the host in the middle of serving. Here a failed write is
//! dropped: a message nobody can read is worth less than the node that would die for it.
//!
//! Also here: cutting what the host echoes of untrusted text (a bad stdin line, a bad
//! body a guest sent) to a bounded length, so one huge input cannot flood the log.

use std::borrow::Cow;
use std::io::Write;

/// `eprintln!` that ignores write errors.
macro_rules! elog {
    ($($arg:tt)*) => {
        $crate::log::line(format_args!($($arg)*))
    };
}
pub(crate) use elog;

/// Writes one line to stderr, whole (one `write_all` under the lock), ignoring errors.
pub fn line(args: std::fmt::Arguments) {
    let mut text = args.to_string();
    text.push('\n');
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// How much of an untrusted text the host echoes in a diagnostic.
pub const SNIPPET: usize = 200;

/// `text` cut to about `SNIPPET` bytes (on a character boundary), saying how long it was.
pub fn snippet(text: &str) -> Cow<'_, str> {
    let text = text.trim_end();
    if text.len() <= SNIPPET {
        return Cow::Borrowed(text);
    }
    let mut end = SNIPPET;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}… ({} bytes in all)", &text[..end], text.len()))
}

/// `snippet` for bytes that may not be UTF-8.
pub fn snippet_bytes(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(SNIPPET)];
    let text = String::from_utf8_lossy(head);
    let text = text.trim_end();
    if bytes.len() <= SNIPPET {
        text.to_string()
    } else {
        format!("{text}… ({} bytes in all)", bytes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_echoed_whole() {
        assert_eq!(snippet("abc\n"), "abc");
        assert_eq!(snippet_bytes(b"abc"), "abc");
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let long = "é".repeat(1000);
        let s = snippet(&long);
        assert!(s.len() < SNIPPET + 40, "{s}");
        assert!(s.ends_with("(2000 bytes in all)"), "{s}");
        let s = snippet_bytes(long.as_bytes());
        assert!(s.ends_with("(2000 bytes in all)"), "{s}");
    }
}
