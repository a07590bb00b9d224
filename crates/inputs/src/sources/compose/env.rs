//! Variables as Compose reads them: `.env` and `env_file` files, and
//! `${VAR}` interpolation. Sources: compose-go `dotenv/parser.go` and
//! `template/template.go` (v2.4.8, the version docker-compose 2.26 on
//! Debian links).

use std::collections::HashMap;

/// Why interpolating a value failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// A `${` form the grammar does not accept; the template as shown.
    Invalid(String),
    /// `${VAR:?message}` with VAR unset: the variable and its message.
    Required(String, String),
}

impl Fault {
    /// The message Compose prints, for a value at `path`
    /// (`services.web.labels.l`).
    pub fn message(&self, path: &str) -> String {
        match self {
            Fault::Invalid(template) => format!(
                "invalid interpolation format for {path}.\nYou may need to escape any $ with another $.\n{template}"
            ),
            Fault::Required(name, message) => {
                let why = if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                };
                format!("error while interpolating {path}: required variable {name} is missing a value{why}")
            }
        }
    }
}

/// Interpolates a value: `$$`, `$VAR`, `${VAR}` and `${VAR` followed by
/// `:-`, `-`, `:+`, `+`, `:?` or `?`. Defaults and messages are
/// interpolated themselves; a substituted value is never re-scanned; `$`
/// before anything that is not a name or `{` stays as written.
pub fn interpolate(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, Fault> {
    // As compose-go's `InvalidTemplateError`, the template shown is the
    // innermost one being substituted.
    substitute(text, lookup).map_err(|fault| match fault {
        Fault::Invalid(t) if t.is_empty() => Fault::Invalid(text.to_string()),
        other => other,
    })
}

fn substitute(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, Fault> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
        } else if rest.starts_with('{') {
            let (value, after) = braced(rest, lookup)?;
            out.push_str(&value);
            rest = after;
        } else {
            let end = name_length(rest);
            if end == 0 {
                out.push('$');
            } else {
                out.push_str(&lookup(&rest[..end]).unwrap_or_default());
                rest = &rest[end..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The length of the variable name at the start of `text`:
/// `[_a-zA-Z][_a-zA-Z0-9]*`, or 0.
fn name_length(text: &str) -> usize {
    let bytes = text.as_bytes();
    match bytes.first() {
        Some(b) if b.is_ascii_alphabetic() || *b == b'_' => bytes
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
            .unwrap_or(bytes.len()),
        _ => 0,
    }
}

/// `${...}` at the start of `text` (after its `$`): the value, and what
/// follows. compose-go matches `\$\{NAME(:?[-+?](.*))?\}` with a greedy
/// `.*`, so a form with an operator runs to the last `}` of the line; it
/// then cuts that at the first `}` its brace counter closes on (which
/// counts every `{` and skips the character after it) and interpolates
/// the remainder after the value.
fn braced<'t>(
    text: &'t str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, &'t str), Fault> {
    let inner = &text[1..];
    let name = name_length(inner);
    let invalid = || Fault::Invalid(String::new());
    if name == 0 {
        return Err(invalid());
    }
    let after_name = &inner[name..];
    if let Some(rest) = after_name.strip_prefix('}') {
        return Ok((lookup(&inner[..name]).unwrap_or_default(), rest));
    }
    let (colon, operator) = match after_name.strip_prefix(':') {
        Some(rest) => (true, rest),
        None => (false, after_name),
    };
    let Some(op @ ('-' | '+' | '?')) = operator.chars().next() else {
        return Err(invalid());
    };
    let line_end = text.find('\n').unwrap_or(text.len());
    let Some(last) = text[..line_end].rfind('}').filter(|&i| i > 1 + name) else {
        return Err(invalid());
    };
    let matched = &text[..=last];
    let end = compose_closing_brace(matched).unwrap_or(last);
    // The argument runs from after the operator to the closing brace.
    let argument_start = 1 + name + usize::from(colon) + 1;
    let value = apply_operator(
        &inner[..name],
        colon,
        op,
        &matched[argument_start..end],
        lookup,
    )?;
    let remainder = interpolate(&matched[end + 1..], lookup)?;
    Ok((value + &remainder, &text[last + 1..]))
}

/// compose-go's `getFirstBraceClosingIndex`, on text starting at `{`.
fn compose_closing_brace(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut open = 0i32;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'}' {
            open -= 1;
            if open == 0 {
                return Some(i);
            }
        }
        if bytes[i] == b'{' {
            open += 1;
            i += 1;
        }
        i += 1;
    }
    None
}

/// `${NAME:-arg}` and its kin: `colon` makes an empty value count as
/// unset; the argument is interpolated itself.
fn apply_operator(
    name: &str,
    colon: bool,
    operator: char,
    argument: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Fault> {
    let value = lookup(name);
    let set = if colon {
        value.as_deref().is_some_and(|v| !v.is_empty())
    } else {
        value.is_some()
    };
    Ok(match (operator, set) {
        ('-' | '?', true) | ('+', false) => value.unwrap_or_default(),
        ('-', false) | ('+', true) => interpolate(argument, lookup)?,
        _ => {
            return Err(Fault::Required(
                name.to_string(),
                interpolate(argument, lookup)?,
            ))
        }
    })
}

/// Reads an env file (`.env`, `--env-file`, a service's `env_file`) into
/// its entries, in order. Values are interpolated, looking first in
/// `outside` and then at earlier entries of the file; a bare `KEY` takes
/// its value from `outside` and is left out when that has none. The error
/// is Compose's `line N: ...` message.
pub fn read_env_file(
    text: &str,
    outside: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut entries: Vec<(String, String)> = Vec::new();
    let mut rest = text;
    // Counted only for an error: counting for every entry would make a
    // long file quadratic.
    let line_of = |rest: &str| text[..text.len() - rest.len()].matches('\n').count() + 1;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(entries);
        }
        if rest.starts_with('#') {
            rest = rest.split_once('\n').map_or("", |(_, r)| r);
            continue;
        }
        let at = rest;
        let line = || line_of(at);
        if let Some(after) = rest.strip_prefix("export") {
            if after.starts_with(char::is_whitespace) {
                rest = after.trim_start_matches(is_space);
            }
        }
        let key_end = rest.find(['=', ':', '\n']).unwrap_or(rest.len());
        let key = rest[..key_end].trim();
        if key.contains(' ') {
            return Err(format!("line {}: key cannot contain a space", line()));
        }
        if let Some(bad) = key.chars().find(|&c| {
            !(c.is_alphanumeric() || is_space(c) || matches!(c, '_' | '.' | '-' | '[' | ']'))
        }) {
            let written = rest.lines().next().unwrap_or_default();
            return Err(format!(
                "line {}: unexpected character {:?} in variable name {written:?}",
                line(),
                bad.to_string()
            ));
        }
        let key = key.to_string();
        if !rest[key_end..].starts_with(['=', ':']) {
            rest = &rest[key_end..];
            if let Some(value) = outside(&key) {
                entries.push((key, value));
            }
            continue;
        }
        rest = rest[key_end + 1..].trim_start_matches(is_space);
        let lookup = |name: &str| {
            outside(name).or_else(|| {
                entries
                    .iter()
                    .rev()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            })
        };
        let fail = |fault: Fault| match fault {
            Fault::Invalid(t) => format!("line {}: invalid interpolation format: {t}", line()),
            Fault::Required(name, message) => {
                format!("required variable {name} is missing a value: {message}")
            }
        };
        let value = match rest.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let body = &rest[1..];
                let end = closing_quote(body, quote).ok_or_else(|| {
                    format!(
                        "line {}: unterminated quoted value {:?}",
                        line(),
                        rest.lines().next().unwrap_or_default()
                    )
                })?;
                rest = &body[end + 1..];
                let raw = &body[..end];
                if quote == '\'' {
                    raw.replace("\\'", "'")
                } else {
                    interpolate(&unescape_double(raw), &lookup).map_err(fail)?
                }
            }
            _ => {
                let (line_text, after) = rest.split_once('\n').unwrap_or((rest, ""));
                rest = after;
                let value = line_text.split(" #").next().unwrap_or_default().trim_end();
                interpolate(value, &lookup).map_err(fail)?
            }
        };
        entries.push((key, value));
    }
}

/// compose-go's `isSpace`: white space that is not a line break.
fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    )
}

/// The index of the quote closing a value, skipping escaped ones.
fn closing_quote(body: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            c if c == quote && !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

/// Double-quoted escapes; `\$` becomes `$$`, which interpolation then
/// turns into a literal `$`.
fn unescape_double(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('a') => out.push('\u{7}'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('v') => out.push('\u{b}'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('$') => out.push_str("$$"),
            // `\0NNN`: three octal digits after the `\0` (compose-go
            // rewrites it to Go's `\NNN`); anything else stays as Go
            // leaves a failed escape, without the `0`.
            Some('0') => {
                let digits: String = chars
                    .clone()
                    .take(3)
                    .take_while(char::is_ascii_digit)
                    .collect();
                for _ in 0..digits.len() {
                    chars.next();
                }
                match u32::from_str_radix(&digits, 8)
                    .ok()
                    .filter(|v| digits.len() == 3 && *v <= 0xff)
                {
                    Some(v) => out.push(char::from_u32(v).unwrap_or('\u{fffd}')),
                    None => {
                        out.push('\\');
                        out.push_str(&digits);
                    }
                }
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The project environment: the process environment over the entries of
/// env files (`<project dir>/.env`, or each `--env-file` in order, a later
/// one seeing the earlier ones), as Compose builds it.
pub(super) fn project_env(
    process: &HashMap<String, String>,
    files: &[String],
) -> Result<HashMap<String, String>, String> {
    let mut vars: HashMap<String, String> = HashMap::new();
    for text in files {
        let earlier = vars.clone();
        let outside = |name: &str| process.get(name).or_else(|| earlier.get(name)).cloned();
        vars.extend(read_env_file(text, &outside)?);
    }
    vars.extend(process.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(vars)
}
