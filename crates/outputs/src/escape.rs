//! Whoever creates a container writes much of what dockgate prints about
//! it: mount targets, variable names, label keys, under TLS the user's
//! certificate name. Each format escapes that text here, so that it cannot
//! end a line, a field or a section, or change how the format's reader
//! parses the rest.
//!
//! - Lines for people (text, Nagios, denial messages, syslog parameters):
//!   control characters (C0, DEL, C1: newlines, carriage returns, ANSI
//!   escapes, NUL) and the invisible characters that reorder or hide text
//!   (bidirectional overrides and isolates, CVE-2021-42574; zero-width
//!   characters; line and paragraph separators) are written as Rust
//!   writes them, `\n` or `\u{1b}`, and very long text is cut in the
//!   middle, saying how much was cut.
//! - JSON (scan reports, SARIF, audit records) keeps every value whole:
//!   the encoder escapes control characters, and the invisible characters
//!   above are written as `\uXXXX` too, so that a log line read in a
//!   terminal shows them rather than acting on them. The values decode
//!   unchanged.
//!
//! Invalid UTF-8 never reaches an output: the gate refuses a request body
//! that holds any (Go would read it as U+FFFD; refusing is the safe side),
//! the daemon's own documents hold U+FFFD where a client sent invalid
//! bytes (Go's JSON encoder writes it), and file names are read lossily,
//! with U+FFFD.

use std::fmt::Write as _;

/// How many characters of a value a line for people shows whole.
pub const SHOWN_WHOLE: usize = 1024;

/// How many findings of one request or container a log writes a line
/// for; a line then says how many more there are. One request can carry
/// thousands (a create body with 20,000 capabilities).
pub const LOGGED_FINDINGS: usize = 20;

/// How many denying findings a denial message names; it then says how
/// many more there are, which the audit log has.
pub(crate) const DENIAL_PARTS: usize = 10;

/// How many characters of a syslog structured-data parameter are sent:
/// the whole record is in the message, and receivers cut messages longer
/// than a few kilobytes (RFC 5424 asks them to take 2048 octets).
const SD_PARAM_WHOLE: usize = 128;

/// Whether a character must not reach a reader as itself: it would end a
/// line, drive a terminal, or reorder or hide the text around it.
///
/// Those are the controls (Cc), every format character (Cf, Unicode 15:
/// bidirectional marks, embeddings, overrides and isolates; zero-width
/// characters; invisible operators; tags, which smuggle invisible text),
/// the line and paragraph separators (Zl, Zp), variation selectors and the
/// invisible fillers.
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{AD}'
                | '\u{600}'..='\u{605}'
                | '\u{61C}'
                | '\u{6DD}'
                | '\u{70F}'
                | '\u{890}'..='\u{891}'
                | '\u{8E2}'
                | '\u{115F}'..='\u{1160}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
                | '\u{E0100}'..='\u{E01EF}'
        )
}

/// Writes `c` as Rust's debug formatting writes it.
fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\0' => out.push_str("\\0"),
        c => push_code(out, c),
    }
}

/// `text` with hidden characters and those in `also` escaped, cut in the
/// middle to `limit` characters.
fn escaped(text: &str, also: &[char], limit: usize) -> String {
    let shortened = shorten(text, limit);
    let mut out = String::with_capacity(shortened.len());
    for c in shortened.chars() {
        if is_hidden(c) || also.contains(&c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` cut to `limit` characters: two thirds from its start, the rest
/// from its end (where a finding names the field), and between them how
/// many characters were left out.
pub(crate) fn shorten(text: &str, limit: usize) -> std::borrow::Cow<'_, str> {
    let count = text.chars().count();
    if count <= limit {
        return text.into();
    }
    let head = limit * 2 / 3;
    let tail = limit - head;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(count - tail).collect();
    format!("{start}…[{} characters cut]…{end}", count - head - tail).into()
}

/// Text for a line that people read (the text report, `check`'s output,
/// a denial message): one line, at most [`SHOWN_WHOLE`] characters of it.
pub fn line(text: &str) -> String {
    escaped(text, &[], SHOWN_WHOLE)
}

/// Text for the Monitoring Plugins format, as Icinga and Nagios read it
/// and their web front ends show it: a line; no `|` (the start of
/// performance data); no `<` or `>` (Icinga Web renders output that looks
/// like HTML as HTML); no backslash before `n` or `t` (Icinga Web and
/// Icinga DB Web show `\n` as a line break and `\t` as a tab), so a
/// newline is `\u{a}` here, and a `\n` in the text `\u{a}` too; and none
/// of the marks Icinga Web draws as a state or a rule (`(OK)`,
/// `[CRITICAL]`, ..., `@@@@@@`): their opening bracket, or a second `@`,
/// is escaped.
pub fn nagios(text: &str) -> String {
    const STATES: &[&str] = &["OK", "WARNING", "CRITICAL", "UNKNOWN", "UP", "DOWN"];
    let shortened: Vec<char> = shorten(text, SHOWN_WHOLE).chars().collect();
    let mut out = String::with_capacity(shortened.len());
    let mut at = 0;
    while let Some(&c) = shortened.get(at) {
        let next = shortened.get(at + 1).copied();
        let rest: String = shortened[at + 1..].iter().take(9).collect();
        let state_mark = matches!(c, '[' | '(')
            && STATES.iter().any(|state| {
                rest.strip_prefix(state)
                    .is_some_and(|after| after.starts_with([']', ')']))
            });
        match c {
            '\\' if matches!(next, Some('n' | 't')) => {
                push_code(&mut out, if next == Some('n') { '\n' } else { '\t' });
                at += 1;
            }
            '@' if out.ends_with('@') => push_code(&mut out, c),
            '|' | '<' | '>' => push_code(&mut out, c),
            _ if state_mark => push_code(&mut out, c),
            c if is_hidden(c) => push_code(&mut out, c),
            c => out.push(c),
        }
        at += 1;
    }
    out
}

/// Writes `c` as `\u{..}`.
fn push_code(out: &mut String, c: char) {
    let _ = write!(out, "\\u{{{:x}}}", c as u32);
}

/// A part of a denial message, whose parts are joined by ` | `: a line
/// with no `|` of its own.
pub(crate) fn denial_part(text: &str) -> String {
    escaped(text, &['|'], SHOWN_WHOLE)
}

/// An RFC 5424 structured-data parameter value (section 6.3.3: `"`, `\`
/// and `]` escaped with a backslash), on one line and short.
pub(crate) fn sd_param(text: &str) -> String {
    let mut out = String::new();
    // Cut again once escaped: an escape writes up to ten characters.
    let escaped = escaped(text, &[], SD_PARAM_WHOLE);
    for c in shorten(&escaped, 2 * SD_PARAM_WHOLE).chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// An RFC 5424 header field (HOSTNAME, APP-NAME, PROCID, MSGID): printable
/// US-ASCII without spaces, `-` when empty.
pub(crate) fn sd_header(text: &str, limit: usize) -> String {
    let field: String = text
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(limit)
        .collect();
    if field.is_empty() {
        "-".into()
    } else {
        field
    }
}

/// A SARIF plain-text message: whole, with `\`, `[` and `]` escaped, so
/// that no text of an attacker's reads as an embedded link (SARIF 2.1.0
/// section 3.11.6).
pub(crate) fn sarif_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A Monitoring Plugins performance-data label: no `=` or `'` (the
/// guidelines allow neither, quoted or not), nothing hidden, and quoted
/// when it has a space.
pub(crate) fn perf_label(name: &str) -> String {
    let label: String = name
        .chars()
        .map(|c| {
            if c == '=' || c == '\'' || c == '|' || is_hidden(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    if label.contains(' ') {
        format!("'{label}'")
    } else {
        label
    }
}

/// JSON as serde_json writes it, with the hidden characters it leaves as
/// they are (DEL, C1 controls, bidirectional and zero-width characters,
/// line separators) written as `\uXXXX`: a log line shown in a terminal cannot
/// drive it, and every value decodes unchanged.
pub(crate) fn harden_json(json: String) -> String {
    // Every hidden character serde_json leaves is DEL or above ASCII, and
    // JSON's own syntax is ASCII without DEL: such a character is inside a
    // string, where `\uXXXX` stands for it.
    let left = |c: char| (c == '\u{7f}' || !c.is_ascii()) && is_hidden(c);
    if !json.chars().any(left) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if left(c) {
            // Above U+FFFF, JSON writes a UTF-16 surrogate pair.
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{:04x}", unit);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_cannot_be_ended_driven_or_reordered() {
        assert_eq!(
            line("a\nb\r\u{1b}[31mc\0\u{9b}d\u{202e}e\u{2028}f\tg"),
            r"a\nb\r\u{1b}[31mc\0\u{9b}d\u{202e}e\u{2028}f\tg"
        );
        assert_eq!(nagios("/e|x"), r"/e\u{7c}x");
        // Format characters of every kind: Arabic letter mark, tags,
        // invisible operators, soft hyphen, variation selectors.
        assert_eq!(
            line("a\u{61c}b\u{e0041}c\u{206f}d\u{ad}e\u{fe0f}f"),
            r"a\u{61c}b\u{e0041}c\u{206f}d\u{ad}e\u{fe0f}f"
        );
        // Icinga Web shows `\n` as a line break and renders HTML.
        assert_eq!(
            nagios("a\nb \\n <a href=x>c</a> \\\\n \\t"),
            r"a\u{a}b \u{a} \u{3c}a href=x\u{3e}c\u{3c}/a\u{3e} \\u{a} \u{9}"
        );
        assert_eq!(denial_part("/e|x\n"), r"/e\u{7c}x\n");
        // Icinga Web's state marks and its rule of six `@`.
        assert_eq!(
            nagios("(OK) [CRITICAL) (OKAY) x@y @@@@@@"),
            r"\u{28}OK) \u{5b}CRITICAL) (OKAY) x@y @\u{40}@\u{40}@\u{40}"
        );
        assert_eq!(line("/e|x"), "/e|x");
        assert_eq!(sd_param("a\"b\\c]d\ne"), r#"a\"b\\c\]d\\ne"#);
        assert_eq!(sd_header("host name\u{1b}", 255), "hostname");
        assert_eq!(sd_header("", 255), "-");
        assert_eq!(sarif_text(r"[x](1) \ ]"), r"\[x\](1) \\ \]");
        assert_eq!(perf_label("custom/a='b' c|d"), "'custom/a__b_ c_d'");
    }

    #[test]
    fn long_values_are_cut_in_the_middle() {
        let long = format!("{}{}", "a".repeat(2000), "END");
        assert_eq!(
            line(&long),
            format!(
                "{}…[979 characters cut]…{}END",
                "a".repeat(682),
                "a".repeat(339)
            )
        );
        assert_eq!(line("short"), "short");
    }

    #[test]
    fn json_keeps_values_and_hides_nothing() {
        let value = serde_json::json!({"k": "a\u{202e}b\u{9b}c\u{2028}d\u{1b}é\u{7f}\u{e0041}"});
        let json = harden_json(serde_json::to_string(&value).unwrap());
        assert_eq!(
            json,
            r#"{"k":"a\u202eb\u009bc\u2028d\u001bé\u007f\udb40\udc41"}"#
        );
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back, value);
    }
}
