//! JSON decoding with the semantics of Go's `encoding/json`, which is how
//! the Docker daemon reads request bodies.
//!
//! A reader that disagrees with the daemon about what a body means is a
//! bypass, so this module reproduces the parts of Go's decoder that an
//! attacker can steer:
//!
//! - object keys match struct fields case-insensitively, with Unicode simple
//!   folding: `"ſecurityOpt"` (U+017F) fills `SecurityOpt` and `"\u212Aernel"`
//!   (Kelvin sign) would fill a field spelled `Kernel`;
//! - an exact match wins over a folded one; unknown keys are ignored;
//! - a repeated key decodes into the value left by the earlier one: structs
//!   and maps merge, slices decode element-wise into the old elements;
//! - `null` clears pointers, slices, maps and interfaces, and is ignored for
//!   strings, numbers, booleans and plain structs;
//! - only the first JSON value of the body is read; trailing bytes are not.
//!
//! A body is decoded against a [`Shape`] (a description of the Go type) into
//! a canonical [`serde_json::Value`] with the Go field names, which the
//! adapters then read without any further ambiguity.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why a body could not be read the way the daemon reads it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GoJsonError {
    /// Not JSON at all.
    #[error("request body is not valid JSON: {0}")]
    Syntax(String),
    /// A value of the wrong type; the daemon rejects such a body too.
    #[error("request body field {path}: cannot read {found} as {expected}")]
    Type {
        /// The field, e.g. `HostConfig.Privileged`.
        path: String,
        /// The Go type expected there.
        expected: &'static str,
        /// What the body holds instead.
        found: &'static str,
    },
    /// Repeated keys whose meaning depends on Go's slice capacity growth, which
    /// no reader outside the daemon can reproduce exactly.
    #[error(
        "request body field {path} is repeated in a way whose meaning depends on daemon internals"
    )]
    Ambiguous {
        /// The field.
        path: String,
    },
}

/// A parsed JSON value that keeps every occurrence of a repeated key, in
/// order, as Go's streaming decoder sees them.
/// Strings without escapes borrow from the body instead of being copied:
/// a create body has a few hundred of them.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number literal.
    Number(Number),
    /// A string.
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Raw<'a>>),
    /// An object with every key occurrence.
    Object(Vec<(Cow<'a, str>, Raw<'a>)>),
}

/// A JSON number, kept as precise as the literal allows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// A non-negative integer literal.
    Unsigned(u64),
    /// A negative integer literal.
    Signed(i64),
    /// A literal with a fraction or exponent, or out of integer range.
    Float(f64),
}

impl Raw<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Raw::Null => "null",
            Raw::Bool(_) => "a boolean",
            Raw::Number(_) => "a number",
            Raw::String(_) => "a string",
            Raw::Array(_) => "an array",
            Raw::Object(_) => "an object",
        }
    }

    /// Converts to a plain value as Go decodes into `interface{}`: for a
    /// repeated key the last occurrence replaces the whole value.
    pub fn to_value(&self) -> Value {
        match self {
            Raw::Null => Value::Null,
            Raw::Bool(b) => Value::Bool(*b),
            Raw::Number(Number::Unsigned(n)) => Value::from(*n),
            Raw::Number(Number::Signed(n)) => Value::from(*n),
            Raw::Number(Number::Float(f)) => Value::from(*f),
            Raw::String(s) => Value::String(s.to_string()),
            Raw::Array(items) => Value::Array(items.iter().map(Raw::to_value).collect()),
            Raw::Object(entries) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    map.insert(k.to_string(), v.to_value());
                }
                Value::Object(map)
            }
        }
    }
}

impl<'de> Deserialize<'de> for Raw<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Raw<'de>, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E>(self) -> Result<Raw<'de>, E> {
        Ok(Raw::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Raw<'de>, E> {
        Ok(Raw::Bool(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Raw<'de>, E> {
        Ok(Raw::Number(Number::Unsigned(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Raw<'de>, E> {
        Ok(Raw::Number(Number::Signed(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Raw<'de>, E> {
        Ok(Raw::Number(Number::Float(v)))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Raw<'de>, E> {
        Ok(Raw::String(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Raw<'de>, E> {
        Ok(Raw::String(Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Raw<'de>, E> {
        Ok(Raw::String(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Raw::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw<'de>, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = map.next_key_seed(KeyVisitor)? {
            let v = map.next_value::<Raw<'de>>()?;
            entries.push((k, v));
        }
        Ok(Raw::Object(entries))
    }
}

/// An object key, borrowed from the body when it has no escapes (serde's
/// own `Cow<str>` always copies).
struct KeyVisitor;

impl<'de> serde::de::DeserializeSeed<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// Parses the first JSON value of `bytes`, ignoring anything after it, as
/// `json.NewDecoder(body).Decode(&v)` does.
pub fn parse_first(bytes: &[u8]) -> Result<Raw<'_>, GoJsonError> {
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<Raw>();
    match stream.next() {
        Some(Ok(raw)) => Ok(raw),
        Some(Err(err)) => Err(GoJsonError::Syntax(err.to_string())),
        None => Err(GoJsonError::Syntax("the body is empty".into())),
    }
}

/// The Go type a JSON value is decoded into.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// `bool`.
    Bool,
    /// Any signed integer type.
    Int,
    /// Any unsigned integer type.
    Uint,
    /// `float64`.
    Float,
    /// `string` (and string-kinded types such as `NetworkMode`).
    Str,
    /// `interface{}`: kept as is, last occurrence wins.
    Any,
    /// Docker's `strslice.StrSlice`: a string or an array of strings.
    StrSlice,
    /// A pointer to a non-struct type: `null` clears it.
    Opt(&'static Shape),
    /// A struct value: `null` is ignored, repeated keys merge.
    Struct(&'static [Field]),
    /// A pointer to a struct: `null` clears it, repeated keys merge.
    PtrStruct(&'static [Field]),
    /// A slice.
    Slice(&'static Shape),
    /// A `map[string]T`.
    Map(&'static Shape),
}

/// One field of a Go struct as the JSON decoder sees it.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The JSON name (the Go field name or its tag).
    pub name: &'static str,
    /// Its type.
    pub shape: Shape,
    /// Where the canonical output nests it: promoted fields of an embedded
    /// struct that the daemon reads separately (the deprecated top-level
    /// `HostConfig` of a create request) are kept apart this way.
    pub nest: Option<&'static str>,
}

impl Field {
    /// A plain field.
    pub const fn new(name: &'static str, shape: Shape) -> Field {
        Field {
            name,
            shape,
            nest: None,
        }
    }

    /// A promoted field kept under `nest` in the canonical output.
    pub const fn nested(name: &'static str, shape: Shape, nest: &'static str) -> Field {
        Field {
            name,
            shape,
            nest: Some(nest),
        }
    }
}

/// Folds a key the way Go's decoder compares keys with field names: ASCII
/// case-insensitively, plus the two non-ASCII runes whose simple case
/// folding reaches an ASCII letter (U+017F long s, U+212A Kelvin sign).
pub fn fold_key(key: &str) -> String {
    key.chars().map(fold_char).collect()
}

/// One rune folded as [`fold_key`] folds it.
fn fold_char(c: char) -> char {
    match c {
        '\u{017F}' => 's',
        '\u{212A}' => 'k',
        c => c.to_ascii_lowercase(),
    }
}

/// Whether two keys fold alike, without allocating: this runs for every
/// key of every body against every field name.
fn fold_eq(a: &str, b: &str) -> bool {
    let mut a = a.chars().map(fold_char);
    let mut b = b.chars().map(fold_char);
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x == y => {}
            _ => return false,
        }
    }
}

/// Where a struct's fields are looked up: a short struct is searched in
/// order, a long one through its name tables.
#[derive(Clone, Copy)]
enum Fields {
    Few(&'static [Field]),
    Many(&'static [Field], &'static FieldIndex),
}

impl Fields {
    fn of(fields: &'static [Field]) -> Fields {
        if fields.len() <= SMALL_STRUCT {
            Fields::Few(fields)
        } else {
            Fields::Many(fields, FieldIndex::of(fields))
        }
    }

    /// The field a key decodes into, by Go's rule: the exact name first,
    /// then the first field whose name folds alike (Go 1.21+ builds the
    /// same two tables).
    fn find(self, key: &str) -> Option<&'static Field> {
        match self {
            Fields::Few(fields) => fields
                .iter()
                .find(|f| f.name == key)
                .or_else(|| fields.iter().find(|f| fold_eq(f.name, key))),
            Fields::Many(fields, index) => {
                if let Some(&i) = index.exact.get(key) {
                    return Some(&fields[i]);
                }
                let mut buffer = [0u8; MAX_FOLDED];
                let folded = fold_ascii(key, &mut buffer)?;
                index.folded.get(folded).map(|&i| &fields[i])
            }
        }
    }
}

/// Up to this many fields a linear search beats hashing.
const SMALL_STRUCT: usize = 8;

/// Field names are shorter than this; a longer key matches none.
const MAX_FOLDED: usize = 64;

/// Folds a key into `buffer` as [`fold_key`] does, or `None` when it cannot
/// fold to any field name: longer than every name, or with a rune that folds
/// to no ASCII letter (field names are ASCII).
fn fold_ascii<'b>(key: &str, buffer: &'b mut [u8; MAX_FOLDED]) -> Option<&'b str> {
    let mut len = 0;
    for c in key.chars() {
        let folded = fold_char(c);
        if !folded.is_ascii() || len == MAX_FOLDED {
            return None;
        }
        buffer[len] = folded as u8;
        len += 1;
    }
    std::str::from_utf8(&buffer[..len]).ok()
}

/// FNV-1a: the tables hold dockgate's own field names and never grow with
/// what a client sends, so a keyed hash buys nothing here and costs a third
/// of the look-up.
#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FnvMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

/// Name tables of one struct shape. A create body has about 90 keys and the
/// create shape about 100 fields; searching them one by one, folding each
/// name for the keys dockgate does not model, was the decoder's largest
/// cost.
struct FieldIndex {
    exact: FnvMap<&'static str, usize>,
    folded: FnvMap<String, usize>,
}

impl FieldIndex {
    /// The tables for `fields`, built once per shape and kept for the life
    /// of the process (shapes are a fixed set of constants).
    fn of(fields: &'static [Field]) -> &'static FieldIndex {
        type Tables = std::sync::RwLock<FnvMap<(usize, usize), &'static FieldIndex>>;
        static TABLES: std::sync::OnceLock<Tables> = std::sync::OnceLock::new();
        let tables = TABLES.get_or_init(Default::default);
        let id = (fields.as_ptr() as usize, fields.len());
        if let Some(index) = tables.read().unwrap_or_else(|e| e.into_inner()).get(&id) {
            return index;
        }
        let mut exact = FnvMap::default();
        let mut folded = FnvMap::default();
        for (i, field) in fields.iter().enumerate() {
            exact.entry(field.name).or_insert(i);
            folded.entry(fold_key(field.name)).or_insert(i);
        }
        let index: &'static FieldIndex = Box::leak(Box::new(FieldIndex { exact, folded }));
        let mut tables = tables.write().unwrap_or_else(|e| e.into_inner());
        tables.entry(id).or_insert(index)
    }
}

/// Decodes a body against a shape, returning the canonical value the daemon
/// would end up with.
pub fn decode(raw: &Raw<'_>, shape: Shape) -> Result<Value, GoJsonError> {
    let mut decoder = GoDecoder::default();
    let mut out = Value::Null;
    decoder.value(raw, shape, &mut out, &Path::Root)?;
    Ok(out)
}

/// Parses and decodes in one step.
pub fn decode_bytes(bytes: &[u8], shape: Shape) -> Result<Value, GoJsonError> {
    decode(&parse_first(bytes)?, shape)
}

#[derive(Default)]
struct GoDecoder {
    /// For each slice path, how many elements the backing array held before
    /// a shorter array truncated it (Go keeps them in the capacity).
    stale: HashMap<String, usize>,
}

/// Where a value sits in the body. Rendered only when needed (errors and
/// repeated slices), since decoding runs on every request.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'static str),
    Index(&'a Path<'a>, usize),
    Key(&'a Path<'a>, &'a str),
}

impl Path<'_> {
    fn render(&self) -> String {
        match self {
            Path::Root => String::new(),
            Path::Field(parent, name) => {
                let parent = parent.render();
                if parent.is_empty() {
                    name.to_string()
                } else {
                    format!("{parent}.{name}")
                }
            }
            Path::Index(parent, i) => format!("{}[{i}]", parent.render()),
            Path::Key(parent, key) => format!("{}[{key:?}]", parent.render()),
        }
    }
}

impl GoDecoder {
    fn forget_below(&mut self, path: &Path) {
        if self.stale.is_empty() {
            return;
        }
        let path = path.render();
        self.stale.retain(|k, _| {
            !(k == &path
                || k.starts_with(&format!("{path}."))
                || k.starts_with(&format!("{path}[")))
        });
    }

    fn value(
        &mut self,
        raw: &Raw<'_>,
        shape: Shape,
        out: &mut Value,
        path: &Path,
    ) -> Result<(), GoJsonError> {
        let type_error = |expected: &'static str| GoJsonError::Type {
            path: path.render(),
            expected,
            found: raw.kind(),
        };
        match (shape, raw) {
            // null leaves non-nullable values as they are.
            (Shape::Bool | Shape::Int | Shape::Uint | Shape::Float | Shape::Str, Raw::Null) => {}
            (Shape::Struct(_), Raw::Null) => {}
            (
                Shape::Any
                | Shape::StrSlice
                | Shape::Opt(_)
                | Shape::PtrStruct(_)
                | Shape::Slice(_)
                | Shape::Map(_),
                Raw::Null,
            ) => {
                self.forget_below(path);
                *out = Value::Null;
            }
            (Shape::Bool, Raw::Bool(b)) => *out = Value::Bool(*b),
            (Shape::Bool, _) => return Err(type_error("bool")),
            (Shape::Int, Raw::Number(Number::Unsigned(n))) if *n <= i64::MAX as u64 => {
                *out = Value::from(*n as i64)
            }
            (Shape::Int, Raw::Number(Number::Signed(n))) => *out = Value::from(*n),
            (Shape::Int, _) => return Err(type_error("int64")),
            (Shape::Uint, Raw::Number(Number::Unsigned(n))) => *out = Value::from(*n),
            (Shape::Uint, _) => return Err(type_error("uint64")),
            (Shape::Float, Raw::Number(n)) => {
                *out = match n {
                    Number::Unsigned(u) => Value::from(*u as f64),
                    Number::Signed(i) => Value::from(*i as f64),
                    Number::Float(f) => Value::from(*f),
                }
            }
            (Shape::Float, _) => return Err(type_error("float64")),
            (Shape::Str, Raw::String(s)) => *out = Value::String(s.to_string()),
            (Shape::Str, _) => return Err(type_error("string")),
            (Shape::Any, raw) => *out = raw.to_value(),
            (Shape::StrSlice, Raw::String(s)) => {
                *out = Value::Array(vec![Value::String(s.to_string())])
            }
            (Shape::StrSlice, Raw::Array(items)) => {
                // StrSlice has its own UnmarshalJSON, which decodes into a
                // fresh []string: no element merging, null elements are "".
                let mut list = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Raw::String(s) => list.push(Value::String(s.to_string())),
                        Raw::Null => list.push(Value::String(String::new())),
                        other => {
                            return Err(GoJsonError::Type {
                                path: Path::Index(path, i).render(),
                                expected: "string",
                                found: other.kind(),
                            })
                        }
                    }
                }
                *out = Value::Array(list);
            }
            (Shape::StrSlice, _) => return Err(type_error("string or array of strings")),
            (Shape::Opt(inner), raw) => {
                let mut current = match out.take() {
                    Value::Null => default_for(*inner),
                    other => other,
                };
                self.value(raw, *inner, &mut current, path)?;
                *out = current;
            }
            (Shape::Struct(fields) | Shape::PtrStruct(fields), Raw::Object(entries)) => {
                if !out.is_object() {
                    self.forget_below(path);
                    *out = Value::Object(Map::new());
                }
                let fields = Fields::of(fields);
                for (key, item) in entries {
                    let Some(field) = fields.find(key) else {
                        continue;
                    };
                    let obj = out.as_object_mut().expect("initialised above");
                    let target = match field.nest {
                        Some(nest) => obj
                            .entry(nest)
                            .or_insert_with(|| Value::Object(Map::new()))
                            .as_object_mut()
                            .expect("nest slots are objects"),
                        None => obj,
                    };
                    let slot = target
                        .entry(field.name)
                        .or_insert_with(|| default_for(field.shape));
                    let nested;
                    let parent = match field.nest {
                        Some(nest) => {
                            nested = Path::Field(path, nest);
                            &nested
                        }
                        None => path,
                    };
                    self.value(item, field.shape, slot, &Path::Field(parent, field.name))?;
                }
            }
            (Shape::Struct(_) | Shape::PtrStruct(_), _) => return Err(type_error("object")),
            (Shape::Map(inner), Raw::Object(entries)) => {
                if !out.is_object() {
                    *out = Value::Object(Map::new());
                }
                for (key, item) in entries {
                    // Go zeroes the element before decoding each map entry.
                    let child = Path::Key(path, key);
                    self.forget_below(&child);
                    let mut fresh = default_for(*inner);
                    self.value(item, *inner, &mut fresh, &child)?;
                    out.as_object_mut()
                        .expect("initialised above")
                        .insert(key.to_string(), fresh);
                }
            }
            (Shape::Map(_), _) => return Err(type_error("object")),
            (Shape::Slice(inner), Raw::Array(items)) => {
                let mut old = match out.take() {
                    Value::Array(old) => old,
                    _ => Vec::new(),
                };
                let stale_len = if self.stale.is_empty() {
                    0
                } else {
                    self.stale.get(&path.render()).copied().unwrap_or(0)
                };
                if items.len() > old.len() && stale_len > old.len() {
                    return Err(GoJsonError::Ambiguous {
                        path: path.render(),
                    });
                }
                let mut list = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let child = Path::Index(path, i);
                    let mut slot = if i < old.len() {
                        old[i].take()
                    } else {
                        self.forget_below(&child);
                        default_for(*inner)
                    };
                    self.value(item, *inner, &mut slot, &child)?;
                    list.push(slot);
                }
                if items.is_empty() {
                    // Go replaces the slice with a fresh empty one.
                    self.forget_below(path);
                } else if old.len() > items.len() {
                    self.stale.insert(path.render(), old.len().max(stale_len));
                }
                *out = Value::Array(list);
            }
            (Shape::Slice(_), _) => return Err(type_error("array")),
        }
        Ok(())
    }
}

/// The zero value of a shape in the canonical output.
fn default_for(shape: Shape) -> Value {
    match shape {
        Shape::Bool => Value::Bool(false),
        Shape::Int | Shape::Uint => Value::from(0),
        Shape::Float => Value::from(0.0),
        Shape::Str => Value::String(String::new()),
        Shape::Struct(_) => Value::Object(Map::new()),
        Shape::Any
        | Shape::StrSlice
        | Shape::Opt(_)
        | Shape::PtrStruct(_)
        | Shape::Slice(_)
        | Shape::Map(_) => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const INNER: &[Field] = &[
        Field::new("Privileged", Shape::Bool),
        Field::new("Memory", Shape::Int),
        Field::new("Binds", Shape::Slice(&Shape::Str)),
        Field::new("SecurityOpt", Shape::Slice(&Shape::Str)),
        Field::new("Sysctls", Shape::Map(&Shape::Str)),
        Field::new("PidsLimit", Shape::Opt(&Shape::Int)),
        Field::new("Mounts", Shape::Slice(&Shape::Struct(MOUNT))),
        Field::new("CapAdd", Shape::StrSlice),
    ];
    const MOUNT: &[Field] = &[
        Field::new("Type", Shape::Str),
        Field::new("Source", Shape::Str),
    ];
    const OUTER: &[Field] = &[
        Field::new("Image", Shape::Str),
        Field::new("HostConfig", Shape::PtrStruct(INNER)),
    ];

    fn decode_str(body: &str) -> Result<Value, GoJsonError> {
        decode_bytes(body.as_bytes(), Shape::Struct(OUTER))
    }

    #[test]
    fn keys_fold_case_insensitively() {
        let v = decode_str(r#"{"image":"a","HOSTCONFIG":{"privileged":true}}"#).unwrap();
        assert_eq!(v["Image"], "a");
        assert_eq!(v["HostConfig"]["Privileged"], true);
    }

    #[test]
    fn long_s_and_kelvin_fold_to_ascii() {
        let v = decode_str("{\"HostConfig\":{\"\u{017F}ecurityOpt\":[\"x\"]}}").unwrap();
        assert_eq!(v["HostConfig"]["SecurityOpt"], json!(["x"]));
        assert_eq!(fold_key("\u{212A}ernel"), "kernel");
    }

    #[test]
    fn exact_name_beats_folded_name() {
        const TWO: &[Field] = &[
            Field::new("user", Shape::Str),
            Field::new("User", Shape::Str),
        ];
        let v = decode_bytes(br#"{"User":"a","user":"b","USER":"c"}"#, Shape::Struct(TWO)).unwrap();
        assert_eq!(v["User"], "a");
        assert_eq!(v["user"], "c");
    }

    #[test]
    fn repeated_struct_keys_merge() {
        let v =
            decode_str(r#"{"HostConfig":{"Privileged":true},"HostConfig":{"Memory":5}}"#).unwrap();
        assert_eq!(v["HostConfig"]["Privileged"], true);
        assert_eq!(v["HostConfig"]["Memory"], 5);
    }

    #[test]
    fn last_scalar_wins_and_null_is_ignored_for_scalars() {
        let v = decode_str(
            r#"{"HostConfig":{"Privileged":false,"Privileged":true,"Privileged":null}}"#,
        )
        .unwrap();
        assert_eq!(v["HostConfig"]["Privileged"], true);
    }

    #[test]
    fn null_clears_pointers_and_slices() {
        let v = decode_str(
            r#"{"HostConfig":{"Binds":["/:/h"],"Binds":null,"PidsLimit":5,"PidsLimit":null}}"#,
        )
        .unwrap();
        assert_eq!(v["HostConfig"]["Binds"], Value::Null);
        assert_eq!(v["HostConfig"]["PidsLimit"], Value::Null);
        let v = decode_str(r#"{"HostConfig":{"Privileged":true},"HostConfig":null}"#).unwrap();
        assert_eq!(v["HostConfig"], Value::Null);
    }

    #[test]
    fn repeated_maps_merge_keys() {
        let v = decode_str(r#"{"HostConfig":{"Sysctls":{"a":"1"},"Sysctls":{"b":"2"}}}"#).unwrap();
        assert_eq!(v["HostConfig"]["Sysctls"], json!({"a":"1","b":"2"}));
    }

    #[test]
    fn repeated_slices_decode_into_old_elements() {
        let v = decode_str(
            r#"{"HostConfig":{"Mounts":[{"Type":"bind","Source":"/"}],"Mounts":[{"Type":"volume"}]}}"#,
        )
        .unwrap();
        assert_eq!(
            v["HostConfig"]["Mounts"],
            json!([{"Type":"volume","Source":"/"}])
        );
        let v = decode_str(r#"{"HostConfig":{"Binds":["/:/h","x:/y"],"Binds":[null]}}"#).unwrap();
        assert_eq!(v["HostConfig"]["Binds"], json!(["/:/h"]));
    }

    #[test]
    fn regrowing_into_truncated_capacity_is_refused() {
        let err = decode_str(
            r#"{"HostConfig":{"Binds":["a:/a","/:/h"],"Binds":["b:/b"],"Binds":["c:/c",null]}}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "request body field HostConfig.Binds is repeated in a way whose meaning depends on daemon internals"
        );
    }

    #[test]
    fn strslice_takes_a_string() {
        let v = decode_str(r#"{"HostConfig":{"CapAdd":"SYS_ADMIN"}}"#).unwrap();
        assert_eq!(v["HostConfig"]["CapAdd"], json!(["SYS_ADMIN"]));
    }

    #[test]
    fn only_the_first_value_is_read() {
        let v = decode_str(r#"{"Image":"a"} {"HostConfig":{"Privileged":true}}"#).unwrap();
        assert_eq!(v["HostConfig"], Value::Null);
    }

    #[test]
    fn type_errors_name_the_field() {
        let err = decode_str(r#"{"HostConfig":{"Privileged":"true"}}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "request body field HostConfig.Privileged: cannot read a string as bool"
        );
        let err = decode_str(r#"{"HostConfig":{"Memory":1.5}}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "request body field HostConfig.Memory: cannot read a number as int64"
        );
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert_eq!(
            decode_str("").unwrap_err().to_string(),
            "request body is not valid JSON: the body is empty"
        );
        assert_eq!(
            decode_str(r#"{"Image":"#).unwrap_err().to_string(),
            "request body is not valid JSON: EOF while parsing a value at line 1 column 9"
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Re-spells a key the way Go's decoder still accepts it.
        fn respell(key: &str, flips: &[u8]) -> String {
            key.chars()
                .zip(flips.iter().cycle())
                .map(|(c, f)| match (c, f % 4) {
                    ('s' | 'S', 3) => '\u{017F}',
                    ('k' | 'K', 3) => '\u{212A}',
                    (c, 1 | 3) => c.to_ascii_lowercase(),
                    (c, 2) => c.to_ascii_uppercase(),
                    (c, _) => c,
                })
                .collect()
        }

        proptest! {
            /// The name tables find exactly what Go's in-order search finds.
            #[test]
            fn name_tables_agree_with_the_linear_search(
                pick in any::<prop::sample::Index>(),
                flips in proptest::collection::vec(any::<u8>(), 1..16),
                junk in "[a-zA-Z\u{17f}\u{212a}\u{e9}]{0,3}",
            ) {
                let fields = crate::docker_types::CREATE_REQUEST;
                let name = fields[pick.index(fields.len())].name;
                let key = format!("{}{junk}", respell(name, &flips));
                let linear = fields
                    .iter()
                    .find(|f| f.name == key)
                    .or_else(|| fields.iter().find(|f| fold_eq(f.name, &key)))
                    .map(|f| f.name);
                prop_assert_eq!(Fields::of(fields).find(&key).map(|f| f.name), linear);
            }
        }

        proptest! {
            #[test]
            fn respelled_and_shadowed_keys_decode_alike(
                flips in proptest::collection::vec(any::<u8>(), 1..16),
                privileged in any::<bool>(),
                memory in 0i64..1_000_000,
                decoy in any::<bool>(),
            ) {
                let canonical = format!(
                    r#"{{"Image":"a","HostConfig":{{"Privileged":{privileged},"Memory":{memory},"SecurityOpt":["x"]}}}}"#
                );
                let hc = respell("HostConfig", &flips);
                let shadow = if decoy {
                    format!(r#""{}":{},"#, respell("Privileged", &flips[1..]), !privileged)
                } else {
                    String::new()
                };
                let respelled = format!(
                    r#"{{"{}":"a","{hc}":{{{shadow}"{}":{privileged},"{}":{memory},"{}":["x"]}}}}"#,
                    respell("Image", &flips),
                    respell("Privileged", &flips),
                    respell("Memory", &flips),
                    respell("SecurityOpt", &flips),
                );
                prop_assert_eq!(decode_str(&canonical).unwrap(), decode_str(&respelled).unwrap());
            }
        }
    }
}
