//! YAML read into a tree that remembers where every value was written, so
//! that findings in compose files point at a line and column.
//!
//! Compose reads its files with go-yaml v3, a port of libyaml; this reader
//! is libyaml's own parser with go-yaml's decoding rules on top, so that a
//! file means the same to both: a byte-order mark is skipped, a flow
//! collection may close at any indentation, a mapping key may not repeat,
//! `<<` merges as go-yaml merges (keys written win, then the first source),
//! and aliases expand under go-yaml's budget, which refuses a "billion
//! laughs" document after a few thousand nodes instead of exhausting memory.

use std::collections::HashMap;

use libyaml_safer::{Event, EventData, Mark, Parser, ScalarStyle};

/// A position in a file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// Line.
    pub line: usize,
    /// Column.
    pub col: usize,
    /// Which of several merged files it comes from.
    pub file: usize,
}

/// A YAML value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it starts.
    pub pos: Pos,
    /// Its explicit tag (`!reset`, `!override`), if any.
    pub tag: Option<String>,
}

/// A YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar, as written (no type resolution), and whether it was quoted.
    Scalar(String, bool),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// A plain scalar written at `pos`.
    pub fn scalar(text: impl Into<String>, pos: Pos) -> Node {
        Node {
            value: Value::Scalar(text.into(), false),
            pos,
            tag: None,
        }
    }

    /// The scalar text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s, _) => Some(s),
            _ => None,
        }
    }

    /// Whether this is YAML null (`~`, `null`, or nothing).
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar(s, false) if matches!(s.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// A boolean scalar.
    pub fn as_bool(&self) -> Option<bool> {
        match self.as_str()? {
            "true" | "True" | "TRUE" | "yes" | "on" => Some(true),
            "false" | "False" | "FALSE" | "no" | "off" => Some(false),
            _ => None,
        }
    }

    /// The text Go prints (`%v`) for a scalar decoded into an untyped
    /// value, as Compose renders `environment`, `labels` and `sysctls`
    /// mapping values: go-yaml v3 resolves a plain scalar to a bool, an
    /// integer (any base, `_` ignored), a float or a date first, so
    /// `017` is `15` and `1.0` is `1`. `None` for null.
    pub fn go_text(&self) -> Option<String> {
        let Value::Scalar(text, quoted) = &self.value else {
            return None;
        };
        if *quoted {
            return Some(text.clone());
        }
        if self.is_null() {
            return None;
        }
        Some(go_plain_scalar(text).unwrap_or_else(|| text.clone()))
    }

    /// The entries of a mapping.
    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    /// The items of a sequence.
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    /// The value of a mapping key.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()
            .iter()
            .rev()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// The text of a mapping key's scalar value, `""` when absent.
    pub fn text(&self, key: &str) -> String {
        self.get(key)
            .and_then(Node::as_str)
            .unwrap_or_default()
            .to_string()
    }

    /// A mutable value of a mapping key.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match &mut self.value {
            Value::Map(entries) => entries
                .iter_mut()
                .rev()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

/// How Go prints a plain scalar that go-yaml v3 resolves to something
/// other than a string (`resolve.go`); `None` when it stays a string.
fn go_plain_scalar(text: &str) -> Option<String> {
    match text {
        "true" | "True" | "TRUE" => return Some("true".into()),
        "false" | "False" | "FALSE" => return Some("false".into()),
        _ => {}
    }
    let first = text.chars().next()?;
    if !(first.is_ascii_digit() || matches!(first, '+' | '-' | '.')) {
        return None;
    }
    if let Some(date) = go_date(text) {
        return Some(date);
    }
    let plain = text.replace('_', "");
    if let Some(n) = go_int(&plain) {
        return Some(n);
    }
    let float_like = {
        let body = plain.strip_prefix(['+', '-']).unwrap_or(&plain);
        let (mantissa, exponent) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let mantissa_ok = match mantissa.split_once('.') {
            Some((whole, fraction)) => {
                whole.chars().all(|c| c.is_ascii_digit())
                    && fraction.chars().all(|c| c.is_ascii_digit())
                    && (!whole.is_empty() || !fraction.is_empty())
            }
            None => !mantissa.is_empty() && mantissa.chars().all(|c| c.is_ascii_digit()),
        };
        let exponent_ok = exponent.is_none_or(|e| {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
        });
        mantissa_ok && exponent_ok
    };
    if float_like {
        if let Ok(f) = plain.parse::<f64>() {
            return Some(go_float(f));
        }
    }
    None
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint`: a sign, then
/// `0x`, `0o`, `0b` or a leading `0` for octal.
fn go_int(text: &str) -> Option<String> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        (magnitude <= 1 << 63).then(|| {
            if magnitude == 0 {
                "0".to_string()
            } else {
                format!("-{magnitude}")
            }
        })
    } else {
        Some(magnitude.to_string())
    }
}

/// Go's `%v` of a float64: the shortest digits, in exponent form when the
/// exponent is below -4 or at least 21.
fn go_float(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let exponent = f.abs().log10().floor() as i32;
    if (-4..21).contains(&exponent) {
        let text = format!("{f}");
        text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
    } else {
        let text = format!("{f:e}");
        let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        format!("{mantissa}e{sign}{digits:0>2}")
    }
}

/// go-yaml's date form, `2001-12-14`, printed as Go prints a
/// `time.Time` at midnight UTC.
fn go_date(text: &str) -> Option<String> {
    let mut parts = text.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || year.len() != 4
        || !(1..=2).contains(&month.len())
        || !(1..=2).contains(&day.len())
    {
        return None;
    }
    let number = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse::<u32>().ok())?
    };
    let (y, m, d) = (number(year)?, number(month)?, number(day)?);
    ((1..=12).contains(&m) && (1..=31).contains(&d))
        .then(|| format!("{y:04}-{m:02}-{d:02} 00:00:00 +0000 UTC"))
}

/// A YAML syntax error, with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {col}: {message}")]
pub struct YamlError {
    /// Line, 1-based.
    pub line: usize,
    /// Column, 1-based.
    pub col: usize,
    /// What is wrong.
    pub message: String,
}

const MERGE_TAG: &str = "tag:yaml.org,2002:merge";
const BINARY_TAG: &str = "tag:yaml.org,2002:binary";
const STR_TAG: &str = "tag:yaml.org,2002:str";

/// Go's `base64.StdEncoding.DecodeString` (padding required, line breaks
/// ignored), as text; `None` for what it refuses.
fn base64(text: &str) -> Option<String> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b'\r' | b'\n'))
        .collect();
    if !digits.len().is_multiple_of(4) {
        return None;
    }
    let value = |b: u8| -> Option<u32> {
        Some(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut bytes = Vec::with_capacity(digits.len() / 4 * 3);
    let chunks = digits.chunks(4).count();
    for (i, chunk) in digits.chunks(4).enumerate() {
        let padding = chunk.iter().rev().take_while(|&&b| b == b'=').count();
        if padding > 2 || (padding > 0 && i + 1 != chunks) {
            return None;
        }
        let mut n = 0u32;
        for &b in &chunk[..4 - padding] {
            n = n << 6 | value(b)?;
        }
        n <<= 6 * padding as u32;
        let decoded = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        bytes.extend_from_slice(&decoded[..3 - padding]);
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// go-yaml's limit on nesting, flow and block alike.
const MAX_DEPTH: usize = 10_000;

/// go-yaml v3's alias budget (`allowedAliasRatio` in its decode.go): past
/// 1,000 decoded nodes, of which over 100 came from aliases, aliases may
/// make up 99% of what is decoded in a small document, falling to 10% for
/// one of four million nodes.
fn alias_budget_exceeded(decoded: u64, from_aliases: u64) -> bool {
    const LOW: f64 = 400_000.0;
    const HIGH: f64 = 4_000_000.0;
    if from_aliases <= 100 || decoded <= 1000 {
        return false;
    }
    let d = decoded as f64;
    let allowed = if d <= LOW {
        0.99
    } else if d >= HIGH {
        0.10
    } else {
        0.99 - 0.89 * ((d - LOW) / (HIGH - LOW))
    };
    from_aliases as f64 / d > allowed
}

fn pos(mark: Mark) -> Pos {
    Pos {
        line: mark.line as usize + 1,
        col: mark.column as usize + 1,
        file: 0,
    }
}

fn error_at(pos: Pos, message: impl Into<String>) -> YamlError {
    YamlError {
        line: pos.line,
        col: pos.col,
        message: message.into(),
    }
}

/// A node of the document as written, before aliases are expanded.
enum Raw {
    Scalar {
        text: String,
        quoted: bool,
        tag: Option<String>,
        pos: Pos,
    },
    Seq {
        items: Vec<usize>,
        tag: Option<String>,
        pos: Pos,
    },
    Map {
        entries: Vec<usize>,
        tag: Option<String>,
        pos: Pos,
    },
    Alias {
        name: String,
        target: usize,
        pos: Pos,
    },
}

impl Raw {
    fn pos(&self) -> Pos {
        match self {
            Raw::Scalar { pos, .. }
            | Raw::Seq { pos, .. }
            | Raw::Map { pos, .. }
            | Raw::Alias { pos, .. } => *pos,
        }
    }
}

/// The first document of a YAML text, as written: nodes in an arena,
/// aliases pointing at their anchors.
struct Document {
    nodes: Vec<Raw>,
    root: Option<usize>,
}

/// Every document of a YAML stream (`---` separated); anchors belong to
/// the document that defines them.
fn read_documents(text: &str) -> Result<Vec<Document>, YamlError> {
    let mut input = text.as_bytes();
    let mut parser = Parser::new();
    parser.set_input_string(&mut input);
    let mut documents = Vec::new();
    let mut nodes: Vec<Raw> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut anchors: HashMap<String, usize> = HashMap::new();
    let mut root = None;
    for event in parser {
        let Event {
            data, start_mark, ..
        } = event.map_err(|e| {
            let mark = e.problem_mark().unwrap_or_default();
            let message = match e.context() {
                Some(context) => format!("{} {context}", e.problem()),
                None => e.problem().to_string(),
            };
            error_at(pos(mark), message)
        })?;
        let at = pos(start_mark);
        let (node, anchor) = match data {
            EventData::Scalar {
                anchor,
                tag,
                value,
                style,
                ..
            } => (
                Raw::Scalar {
                    text: value,
                    quoted: !matches!(style, ScalarStyle::Plain),
                    tag,
                    pos: at,
                },
                anchor,
            ),
            EventData::SequenceStart { anchor, tag, .. } => (
                Raw::Seq {
                    items: Vec::new(),
                    tag,
                    pos: at,
                },
                anchor,
            ),
            EventData::MappingStart { anchor, tag, .. } => (
                Raw::Map {
                    entries: Vec::new(),
                    tag,
                    pos: at,
                },
                anchor,
            ),
            EventData::Alias { anchor } => match anchors.get(&anchor) {
                Some(&target) => (
                    Raw::Alias {
                        target,
                        name: anchor,
                        pos: at,
                    },
                    None,
                ),
                None => {
                    return Err(error_at(
                        at,
                        format!("unknown anchor '{anchor}' referenced"),
                    ))
                }
            },
            EventData::SequenceEnd | EventData::MappingEnd => {
                open.pop();
                continue;
            }
            EventData::DocumentEnd { .. } => {
                documents.push(Document {
                    nodes: std::mem::take(&mut nodes),
                    root: root.take(),
                });
                anchors.clear();
                open.clear();
                continue;
            }
            _ => continue,
        };
        let index = nodes.len();
        let opens = matches!(node, Raw::Seq { .. } | Raw::Map { .. });
        nodes.push(node);
        // Registered before the children are read, as go-yaml does, so a
        // node that refers to itself is found and refused when decoded.
        if let Some(name) = anchor {
            anchors.insert(name, index);
        }
        match open.last().map(|&parent| &mut nodes[parent]) {
            Some(Raw::Seq { items, .. }) => items.push(index),
            Some(Raw::Map { entries, .. }) => entries.push(index),
            _ => root = root.or(Some(index)),
        }
        if opens {
            if open.len() >= MAX_DEPTH {
                return Err(error_at(at, format!("exceeded max depth of {MAX_DEPTH}")));
            }
            open.push(index);
        }
    }
    Ok(documents)
}

/// Expands a [`Document`] into a tree as go-yaml decodes it.
struct Decoder<'a> {
    doc: &'a Document,
    decoded: u64,
    from_aliases: u64,
    alias_depth: usize,
    expanding: Vec<usize>,
}

impl Decoder<'_> {
    fn decode(&mut self, index: usize) -> Result<Node, YamlError> {
        self.decoded += 1;
        if self.alias_depth > 0 {
            self.from_aliases += 1;
        }
        let raw = &self.doc.nodes[index];
        if alias_budget_exceeded(self.decoded, self.from_aliases) {
            return Err(error_at(raw.pos(), "document contains excessive aliasing"));
        }
        Ok(match raw {
            Raw::Scalar {
                text,
                quoted,
                tag,
                pos,
            } => {
                let (text, quoted) = match tag.as_deref() {
                    // go-yaml decodes `!!binary` into the bytes it encodes,
                    // and a `!!str` is a string however it looks.
                    Some(BINARY_TAG) => (
                        base64(text).ok_or_else(|| {
                            error_at(*pos, "!!binary value contains invalid base64 data")
                        })?,
                        true,
                    ),
                    Some(STR_TAG) => (text.clone(), true),
                    _ => (text.clone(), *quoted),
                };
                Node {
                    value: Value::Scalar(text, quoted),
                    pos: *pos,
                    tag: tag.clone(),
                }
            }
            Raw::Seq { items, tag, pos } => Node {
                value: Value::Seq(
                    items
                        .iter()
                        .map(|&i| self.decode(i))
                        .collect::<Result<_, _>>()?,
                ),
                pos: *pos,
                tag: tag.clone(),
            },
            Raw::Map { entries, tag, pos } => {
                let entries = self.mapping(entries)?;
                // A block mapping is reported where its first key is
                // written, which is where a reader looks for it.
                let pos = entries.first().map_or(*pos, |(k, _)| k.pos);
                Node {
                    value: Value::Map(entries),
                    pos,
                    tag: tag.clone(),
                }
            }
            Raw::Alias { name, target, pos } => {
                let target = *target;
                if self.expanding.contains(&target) {
                    return Err(error_at(
                        *pos,
                        format!("anchor '{name}' value contains itself"),
                    ));
                }
                self.expanding.push(target);
                self.alias_depth += 1;
                let node = self.decode(target);
                self.alias_depth -= 1;
                self.expanding.pop();
                let mut node = node?;
                node.pos = *pos;
                node
            }
        })
    }

    fn scalar_key(&self, index: usize) -> Option<&str> {
        match &self.doc.nodes[index] {
            Raw::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    fn mapping(&mut self, flat: &[usize]) -> Result<Vec<(Node, Node)>, YamlError> {
        let pairs: Vec<(usize, usize)> = flat.chunks(2).map(|p| (p[0], p[1])).collect();
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(pairs.len());
        for &(key, _) in &pairs {
            let Some(text) = self.scalar_key(key) else {
                continue;
            };
            if let Some(first) = seen.insert(text, key) {
                return Err(error_at(
                    self.doc.nodes[key].pos(),
                    format!(
                        "mapping key {text:?} already defined at line {}",
                        self.doc.nodes[first].pos().line
                    ),
                ));
            }
        }
        let mut entries = Vec::with_capacity(pairs.len());
        let mut merge = None;
        for (key, value) in pairs {
            if self.is_merge_key(key) {
                merge = Some(value);
                continue;
            }
            let key = self.decode(key)?;
            let value = self.decode(value)?;
            entries.push((key, value));
        }
        if let Some(source) = merge {
            let sources = match self.resolved(source) {
                Raw::Seq { items, .. } => items.clone(),
                _ => vec![source],
            };
            for source in sources {
                if !matches!(self.resolved(source), Raw::Map { .. }) {
                    return Err(error_at(
                        self.doc.nodes[source].pos(),
                        "map merge requires map or sequence of maps as the value",
                    ));
                }
                let merged = self.decode(source)?;
                for (k, v) in merged.entries() {
                    // A key written here wins, unless it is `!reset`:
                    // Compose removes those before go-yaml merges, so the
                    // merged value follows the reset. (An earlier source
                    // wins over a later one the same way.)
                    let taken = entries.iter().any(|(e, value)| {
                        e.as_str() == k.as_str() && value.tag.as_deref() != Some("!reset")
                    });
                    if !taken {
                        entries.push((k.clone(), v.clone()));
                    }
                }
            }
        }
        Ok(entries)
    }

    /// `<<` untagged, or any `<<` tagged `!!merge`, quoted or not, as
    /// go-yaml's `isMerge`.
    fn is_merge_key(&self, index: usize) -> bool {
        matches!(&self.doc.nodes[index], Raw::Scalar { text, quoted, tag, .. }
        if text == "<<" && match tag.as_deref() {
            None | Some("!") => !quoted,
            Some(tag) => tag == MERGE_TAG,
        })
    }

    /// What an alias points at, or the node itself.
    fn resolved(&self, index: usize) -> &Raw {
        match &self.doc.nodes[index] {
            Raw::Alias { target, .. } => &self.doc.nodes[*target],
            raw => raw,
        }
    }
}

impl Node {
    /// Marks every position of the tree as coming from file `file`.
    pub fn set_file(&mut self, file: usize) {
        self.pos.file = file;
        match &mut self.value {
            Value::Scalar(..) => {}
            Value::Seq(items) => items.iter_mut().for_each(|n| n.set_file(file)),
            Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
                k.set_file(file);
                v.set_file(file);
            }),
        }
    }
}

/// Parses the first document of a YAML text.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let mut documents = parse_all(text)?;
    Ok(if documents.is_empty() {
        empty_map()
    } else {
        documents.swap_remove(0)
    })
}

/// Parses every document of a YAML text, in order; an empty text is one
/// empty mapping.
pub fn parse_all(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut decoded = Vec::new();
    for doc in read_documents(text)? {
        let Some(root) = doc.root else {
            continue;
        };
        decoded.push(
            Decoder {
                doc: &doc,
                decoded: 0,
                from_aliases: 0,
                alias_depth: 0,
                expanding: Vec::new(),
            }
            .decode(root)?,
        );
    }
    if decoded.is_empty() {
        decoded.push(empty_map());
    }
    Ok(decoded)
}

fn empty_map() -> Node {
    Node {
        value: Value::Map(Vec::new()),
        pos: Pos {
            line: 1,
            col: 1,
            file: 0,
        },
        tag: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_anchors_and_merge_keys() {
        let doc = parse(
            "x-common: &common\n  privileged: true\n  user: root\nservices:\n  web:\n    <<: *common\n    user: \"1000\"\n    ports:\n      - 80:80\n",
        )
        .unwrap();
        let web = doc.get("services").unwrap().get("web").unwrap();
        assert_eq!(web.get("privileged").unwrap().as_bool(), Some(true));
        assert_eq!(web.get("user").unwrap().as_str(), Some("1000"));
        let port = &web.get("ports").unwrap().items()[0];
        assert_eq!(port.as_str(), Some("80:80"));
        assert_eq!((port.pos.line, port.pos.col), (9, 9));
        let user = web.get("user").unwrap().pos;
        assert_eq!((user.line, user.col), (7, 11));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("services:\n  web: [\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.to_string().starts_with("line 3, column 1: "), "{err}");
    }

    #[test]
    fn what_go_yaml_accepts_is_accepted() {
        // A byte-order mark, and a flow sequence closed left of its key.
        let doc =
            parse("\u{feff}services:\n  web:\n    command: [\n      \"a\",\n  \"b\"\n]\n").unwrap();
        let command = doc
            .get("services")
            .unwrap()
            .get("web")
            .unwrap()
            .get("command");
        let words: Vec<_> = command
            .unwrap()
            .items()
            .iter()
            .map(|n| n.as_str())
            .collect();
        assert_eq!(words, [Some("a"), Some("b")]);
    }

    #[test]
    fn merge_keys_follow_go_yaml() {
        // Keys written win wherever `<<` stands; of several sources, the
        // first wins.
        let doc =
            parse("a: &a {x: 1, y: 1}\nb: &b {x: 2, z: 2}\nc:\n  x: 0\n  <<: [*a, *b]\n").unwrap();
        let c = doc.get("c").unwrap();
        let text = |k| c.get(k).and_then(Node::as_str);
        assert_eq!(
            (text("x"), text("y"), text("z")),
            (Some("0"), Some("1"), Some("2"))
        );
        let err = parse("a: 1\nb: {<<: *a}\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2, column 9: unknown anchor 'a' referenced"
        );
        let err = parse("a: &a 1\nb: {<<: *a}\n").unwrap_err();
        assert_eq!(
            err.message,
            "map merge requires map or sequence of maps as the value"
        );
    }

    /// Tags go-yaml acts on: `!!binary` is decoded, `!!str` is a string,
    /// a `!!merge` key merges even quoted; several documents are read.
    #[test]
    fn tags_and_documents_as_go_yaml_reads_them() {
        let doc = parse(
            "a: !!binary aG9zdA==\nb: !!str 017\nx: &x {p: true}\nm:\n  !!merge \"<<\": *x\n",
        )
        .unwrap();
        assert_eq!(doc.get("a").unwrap().as_str(), Some("host"));
        assert_eq!(doc.get("b").unwrap().go_text().as_deref(), Some("017"));
        assert_eq!(
            doc.get("m").unwrap().get("p").unwrap().as_str(),
            Some("true")
        );
        // A quoted `<<` without the tag is an ordinary key.
        let plain = parse("x: &x {p: true}\nm:\n  \"<<\": *x\n").unwrap();
        assert!(plain.get("m").unwrap().get("p").is_none());
        assert_eq!(
            parse("a: !!binary a$==\n").unwrap_err().message,
            "!!binary value contains invalid base64 data"
        );
        let documents = parse_all("a: 1\n---\na: 2\n---\n").unwrap();
        assert_eq!(documents.len(), 3);
        assert_eq!(documents[1].get("a").unwrap().as_str(), Some("2"));
        // An explicit empty document is a null, which Compose refuses.
        assert!(documents[2].is_null());
    }

    /// Map values Compose stringifies as Go prints what go-yaml decoded
    /// (the `yaml_scalars` case of the differential corpus, and the
    /// edges of Go's `strconv` it follows).
    #[test]
    fn scalars_print_as_go_prints_them() {
        let text = |yaml: &str| {
            parse(&format!("v: {yaml}"))
                .unwrap()
                .get("v")
                .unwrap()
                .go_text()
        };
        for (written, printed) in [
            ("1.0", "1"),
            ("1.50", "1.5"),
            ("1e3", "1000"),
            (".5", "0.5"),
            ("0x1F", "31"),
            ("017", "15"),
            ("0o17", "15"),
            ("0b101", "5"),
            ("1_000", "1000"),
            ("+1", "1"),
            ("-0", "0"),
            ("08", "8"),
            ("1e21", "1e+21"),
            ("0.00001", "1e-05"),
            ("12345678901234567890", "12345678901234567890"),
            ("True", "true"),
            ("yes", "yes"),
            ("on", "on"),
            ("1:20", "1:20"),
            ("2001-12-14", "2001-12-14 00:00:00 +0000 UTC"),
            ("'017'", "017"),
            ("\"1.0\"", "1.0"),
            ("1.2.3", "1.2.3"),
            ("-x", "-x"),
        ] {
            assert_eq!(text(written).as_deref(), Some(printed), "{written}");
        }
        assert_eq!(text("~"), None);
        assert_eq!(text("null"), None);
    }

    #[test]
    fn go_yaml_refusals() {
        let err = parse("services:\n  web: {}\n  web: {}\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3, column 3: mapping key \"web\" already defined at line 2"
        );
        let err = parse("a: &a\n  b: *a\n").unwrap_err();
        assert_eq!(err.message, "anchor 'a' value contains itself");
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert_eq!(
            parse(&deep).unwrap_err().message,
            "exceeded max depth of 10000"
        );
    }

    #[test]
    fn an_alias_bomb_is_refused_at_once() {
        // Nine levels of ten aliases each: a billion leaves once expanded.
        let mut text = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for (prev, next) in ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i", "j"])
        {
            text.push_str(&format!(
                "{next}: &{next} [{}]\n",
                vec![format!("*{prev}"); 9].join(",")
            ));
        }
        let started = std::time::Instant::now();
        let err = parse(&text).unwrap_err();
        assert_eq!(err.message, "document contains excessive aliasing");
        assert!(started.elapsed() < std::time::Duration::from_millis(500));
        // Moderate reuse, as real compose files have, is fine.
        let mut text =
            String::from("x-common: &common {privileged: true, user: root}\nservices:\n");
        for n in 0..20 {
            text.push_str(&format!("  s{n}:\n    <<: *common\n    image: i\n"));
        }
        let doc = parse(&text).unwrap();
        assert_eq!(doc.get("services").unwrap().entries().len(), 20);
    }
}
