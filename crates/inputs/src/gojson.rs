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
//! adapters then read without any further ambiguity. Decoding streams
//! through the body once, in the order Go's decoder walks it: keys that no
//! field takes are skipped, never built.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
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
                // Every exact match also folds alike, so one look-up by the
                // folded key finds both, unless two of the struct's names
                // fold alike: then the exact table decides first.
                if index.names_collide {
                    if let Some(&i) = index.exact.get(key) {
                        return Some(&fields[i]);
                    }
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
fn fold_ascii<'b>(key: &str, buffer: &'b mut [u8; MAX_FOLDED]) -> Option<&'b [u8]> {
    let bytes = key.as_bytes();
    if bytes.is_ascii() {
        // Nearly every key: no rune to decode.
        let folded = buffer.get_mut(..bytes.len())?;
        for (out, b) in folded.iter_mut().zip(bytes) {
            *out = b.to_ascii_lowercase();
        }
        return Some(folded);
    }
    let mut len = 0;
    for c in key.chars() {
        let folded = fold_char(c);
        if !folded.is_ascii() || len == MAX_FOLDED {
            return None;
        }
        buffer[len] = folded as u8;
        len += 1;
    }
    Some(&buffer[..len])
}

/// A word-at-a-time multiplicative hash (as FxHash): the tables hold
/// dockgate's own field names and never grow with what a client sends, so
/// a keyed hash buys nothing here; byte-at-a-time FNV cost a third of each
/// look-up.
#[derive(Default)]
struct WordHash(u64);

impl std::hash::Hasher for WordHash {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut hash = self.0;
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            hash = (hash.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in words.remainder() {
            hash = (hash.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
        self.0 = hash;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type NameMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<WordHash>>;

/// Name tables of one struct shape. A create body has about 90 keys and the
/// create shape about 100 fields; searching them one by one, folding each
/// name for the keys dockgate does not model, was the decoder's largest
/// cost.
struct FieldIndex {
    exact: NameMap<&'static str, usize>,
    folded: NameMap<Box<[u8]>, usize>,
    /// Whether two different names fold alike (`user` and `User`).
    names_collide: bool,
}

impl FieldIndex {
    /// The tables for `fields`, built once per shape and kept for the life
    /// of the process (shapes are a fixed set of constants).
    fn of(fields: &'static [Field]) -> &'static FieldIndex {
        type Tables = std::sync::RwLock<NameMap<(usize, usize), &'static FieldIndex>>;
        static TABLES: std::sync::OnceLock<Tables> = std::sync::OnceLock::new();
        let tables = TABLES.get_or_init(Default::default);
        let id = (fields.as_ptr() as usize, fields.len());
        if let Some(index) = tables.read().unwrap_or_else(|e| e.into_inner()).get(&id) {
            return index;
        }
        let mut exact = NameMap::default();
        let mut folded = NameMap::default();
        let mut names_collide = false;
        for (i, field) in fields.iter().enumerate() {
            exact.entry(field.name).or_insert(i);
            let first: &mut usize = folded
                .entry(fold_key(field.name).into_bytes().into_boxed_slice())
                .or_insert(i);
            names_collide |= fields[*first].name != field.name;
        }
        let index: &'static FieldIndex = Box::leak(Box::new(FieldIndex {
            exact,
            folded,
            names_collide,
        }));
        let mut tables = tables.write().unwrap_or_else(|e| e.into_inner());
        tables.entry(id).or_insert(index)
    }
}

/// Decodes the first JSON value of `bytes` against a shape, as
/// `json.NewDecoder(body).Decode(&v)` does (anything after it is not read),
/// returning the canonical value the daemon would end up with.
pub fn decode_bytes(bytes: &[u8], shape: Shape) -> Result<Value, GoJsonError> {
    // JSON's white space, not Rust's (which takes in form feeds): a body of
    // a form feed is not empty but malformed.
    if bytes
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        return Err(GoJsonError::Syntax("the body is empty".into()));
    }
    let mut decoder = GoDecoder::default();
    let mut out = Value::Null;
    let mut json = serde_json::Deserializer::from_slice(bytes);
    let slot = Slot {
        decoder: &mut decoder,
        shape,
        out: &mut out,
        path: &Path::Root,
    };
    match slot.deserialize(&mut json) {
        Ok(()) => Ok(out),
        // Go checks the whole value's syntax before decoding any of it, so a
        // syntax error anywhere, even past a type error, is what the daemon
        // reports.
        Err(err) => Err(syntax_error(bytes).unwrap_or_else(|| {
            decoder
                .failure
                .take()
                .unwrap_or_else(|| GoJsonError::Syntax(err.to_string()))
        })),
    }
}

/// The syntax error in the first JSON value of `bytes`, if there is one,
/// found by reading every string and number of it.
fn syntax_error(bytes: &[u8]) -> Option<GoJsonError> {
    let mut values = serde_json::Deserializer::from_slice(bytes).into_iter::<Value>();
    match values.next() {
        Some(Err(err)) => Some(GoJsonError::Syntax(err.to_string())),
        _ => None,
    }
}

#[derive(Default)]
struct GoDecoder {
    /// For each slice path, how many elements the backing array held before
    /// a shorter array truncated it (Go keeps them in the capacity).
    stale: HashMap<String, usize>,
    /// Why decoding stopped, when it was not the JSON syntax: serde's error
    /// type cannot carry it.
    failure: Option<GoJsonError>,
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

    /// Records why decoding stops, and the error that makes serde stop.
    fn fail<E: serde::de::Error>(&mut self, failure: GoJsonError) -> E {
        self.failure = Some(failure);
        E::custom("stopped")
    }
}

/// A JSON scalar as it comes out of the body.
enum Scalar<'a> {
    Null,
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Str(&'a str),
}

impl Scalar<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Scalar::Null => "null",
            Scalar::Bool(_) => "a boolean",
            Scalar::Unsigned(_) | Scalar::Signed(_) | Scalar::Float(_) => "a number",
            Scalar::Str(_) => "a string",
        }
    }

    /// The value Go puts in an `interface{}`.
    fn to_value(&self) -> Value {
        match self {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => Value::Bool(*b),
            Scalar::Unsigned(n) => Value::from(*n),
            Scalar::Signed(n) => Value::from(*n),
            Scalar::Float(f) => Value::from(*f),
            Scalar::Str(s) => Value::String((*s).to_string()),
        }
    }
}

/// The kind of a plain value, as type errors name it.
fn value_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// One place in the canonical output, and the Go type the next JSON value
/// in the body is decoded into there.
struct Slot<'s, 'p> {
    decoder: &'s mut GoDecoder,
    shape: Shape,
    out: &'s mut Value,
    path: &'p Path<'p>,
}

impl<'s, 'p> Slot<'s, 'p> {
    fn type_error<E: serde::de::Error>(self, expected: &'static str, found: &'static str) -> E {
        let path = self.path.render();
        self.decoder.fail(GoJsonError::Type {
            path,
            expected,
            found,
        })
    }

    /// A pointer to a non-struct value: anything but `null` decodes into
    /// what it points to, allocating it first.
    fn through_pointer<E>(
        self,
        inner: Shape,
        decode: impl FnOnce(Slot<'_, 'p>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut current = match self.out.take() {
            Value::Null => default_for(inner),
            other => other,
        };
        let result = decode(Slot {
            decoder: &mut *self.decoder,
            shape: inner,
            out: &mut current,
            path: self.path,
        });
        *self.out = current;
        result
    }

    fn scalar<E: serde::de::Error>(self, value: Scalar<'_>) -> Result<(), E> {
        match (self.shape, &value) {
            // null leaves non-nullable values as they are.
            (
                Shape::Bool
                | Shape::Int
                | Shape::Uint
                | Shape::Float
                | Shape::Str
                | Shape::Struct(_),
                Scalar::Null,
            ) => {}
            (
                Shape::Any
                | Shape::StrSlice
                | Shape::Opt(_)
                | Shape::PtrStruct(_)
                | Shape::Slice(_)
                | Shape::Map(_),
                Scalar::Null,
            ) => {
                self.decoder.forget_below(self.path);
                *self.out = Value::Null;
            }
            (Shape::Opt(inner), _) => return self.through_pointer(*inner, |s| s.scalar(value)),
            (Shape::Any, _) => *self.out = value.to_value(),
            (Shape::Bool, Scalar::Bool(b)) => *self.out = Value::Bool(*b),
            (Shape::Int, Scalar::Unsigned(n)) if *n <= i64::MAX as u64 => {
                *self.out = Value::from(*n as i64)
            }
            (Shape::Int, Scalar::Signed(n)) => *self.out = Value::from(*n),
            (Shape::Uint, Scalar::Unsigned(n)) => *self.out = Value::from(*n),
            (Shape::Float, Scalar::Unsigned(n)) => *self.out = Value::from(*n as f64),
            (Shape::Float, Scalar::Signed(n)) => *self.out = Value::from(*n as f64),
            (Shape::Float, Scalar::Float(f)) => *self.out = Value::from(*f),
            (Shape::Str, Scalar::Str(s)) => *self.out = Value::String((*s).to_string()),
            (Shape::StrSlice, Scalar::Str(s)) => {
                *self.out = Value::Array(vec![Value::String((*s).to_string())])
            }
            (shape, found) => {
                let found = found.kind();
                return Err(self.type_error(expected_name(shape), found));
            }
        }
        Ok(())
    }
}

/// How a type error names the Go type it expected.
fn expected_name(shape: Shape) -> &'static str {
    match shape {
        Shape::Bool => "bool",
        Shape::Int => "int64",
        Shape::Uint => "uint64",
        Shape::Float => "float64",
        Shape::Str => "string",
        Shape::StrSlice => "string or array of strings",
        Shape::Struct(_) | Shape::PtrStruct(_) | Shape::Map(_) => "object",
        Shape::Slice(_) => "array",
        Shape::Opt(inner) => expected_name(*inner),
        Shape::Any => "any value",
    }
}

impl<'de> DeserializeSeed<'de> for Slot<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        match self.shape {
            // An interface{} takes the value as it is: for a repeated key
            // the last occurrence replaces the whole value.
            Shape::Any => {
                *self.out = serde::Deserialize::deserialize(deserializer)?;
                Ok(())
            }
            _ => deserializer.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Slot<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.scalar(Scalar::Null)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        self.scalar(Scalar::Null)
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<(), E> {
        self.scalar(Scalar::Bool(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<(), E> {
        self.scalar(Scalar::Unsigned(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<(), E> {
        self.scalar(Scalar::Signed(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<(), E> {
        self.scalar(Scalar::Float(v))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        self.scalar(Scalar::Str(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        match self.shape {
            Shape::Opt(inner) => self.through_pointer(*inner, |s| s.visit_seq(seq)),
            Shape::Any => {
                let value = serde::Deserialize::deserialize(
                    serde::de::value::SeqAccessDeserializer::new(seq),
                )?;
                *self.out = value;
                Ok(())
            }
            Shape::StrSlice => {
                // StrSlice has its own UnmarshalJSON, which decodes into a
                // fresh []string: no element merging, null elements are "".
                let mut list = Vec::new();
                while let Some(item) = seq.next_element::<Value>()? {
                    match item {
                        Value::String(s) => list.push(Value::String(s)),
                        Value::Null => list.push(Value::String(String::new())),
                        other => {
                            let path = Path::Index(self.path, list.len()).render();
                            return Err(self.decoder.fail(GoJsonError::Type {
                                path,
                                expected: "string",
                                found: value_kind(&other),
                            }));
                        }
                    }
                }
                *self.out = Value::Array(list);
                Ok(())
            }
            Shape::Slice(inner) => {
                let Slot {
                    decoder, out, path, ..
                } = self;
                let mut old = match out.take() {
                    Value::Array(old) => old,
                    _ => Vec::new(),
                };
                let stale_len = if decoder.stale.is_empty() {
                    0
                } else {
                    decoder.stale.get(&path.render()).copied().unwrap_or(0)
                };
                let mut list = Vec::with_capacity(old.len());
                loop {
                    let i = list.len();
                    if i == old.len() && stale_len > old.len() {
                        // Growing past the old length into elements a
                        // shorter array truncated: whether Go reuses them
                        // depends on its capacity growth. Only an array that
                        // really grows counts.
                        let mut probe = Value::Null;
                        let grows = seq
                            .next_element_seed(Slot {
                                decoder: &mut *decoder,
                                shape: Shape::Any,
                                out: &mut probe,
                                path,
                            })?
                            .is_some();
                        if grows {
                            return Err(decoder.fail(GoJsonError::Ambiguous {
                                path: path.render(),
                            }));
                        }
                        break;
                    }
                    let child = Path::Index(path, i);
                    let mut slot = if i < old.len() {
                        old[i].take()
                    } else {
                        decoder.forget_below(&child);
                        default_for(*inner)
                    };
                    let more = seq.next_element_seed(Slot {
                        decoder: &mut *decoder,
                        shape: *inner,
                        out: &mut slot,
                        path: &child,
                    })?;
                    if more.is_none() {
                        break;
                    }
                    list.push(slot);
                }
                if list.is_empty() {
                    // Go replaces the slice with a fresh empty one.
                    decoder.forget_below(path);
                } else if old.len() > list.len() {
                    decoder
                        .stale
                        .insert(path.render(), old.len().max(stale_len));
                }
                *out = Value::Array(list);
                Ok(())
            }
            shape => Err(self.type_error(expected_name(shape), "an array")),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        match self.shape {
            Shape::Opt(inner) => self.through_pointer(*inner, |s| s.visit_map(map)),
            Shape::Any => {
                let value = serde::Deserialize::deserialize(
                    serde::de::value::MapAccessDeserializer::new(map),
                )?;
                *self.out = value;
                Ok(())
            }
            Shape::Struct(fields) | Shape::PtrStruct(fields) => {
                let Slot {
                    decoder, out, path, ..
                } = self;
                let mut obj = match out.take() {
                    Value::Object(obj) => obj,
                    _ => {
                        decoder.forget_below(path);
                        Map::new()
                    }
                };
                let fields = Fields::of(fields);
                while let Some(key) = map.next_key_seed(KeyVisitor)? {
                    let Some(field) = fields.find(&key) else {
                        map.next_value::<Skipped>()?;
                        continue;
                    };
                    match field.nest {
                        None => {
                            let slot = field_slot(&mut obj, field);
                            map.next_value_seed(Slot {
                                decoder: &mut *decoder,
                                shape: field.shape,
                                out: slot,
                                path: &Path::Field(path, field.name),
                            })?;
                        }
                        Some(nest) => {
                            let mut nested = match obj.remove(nest) {
                                Some(Value::Object(nested)) => nested,
                                _ => Map::new(),
                            };
                            let slot = field_slot(&mut nested, field);
                            let parent = Path::Field(path, nest);
                            map.next_value_seed(Slot {
                                decoder: &mut *decoder,
                                shape: field.shape,
                                out: slot,
                                path: &Path::Field(&parent, field.name),
                            })?;
                            obj.insert(nest.to_string(), Value::Object(nested));
                        }
                    }
                }
                *out = Value::Object(obj);
                Ok(())
            }
            Shape::Map(inner) => {
                let Slot {
                    decoder, out, path, ..
                } = self;
                let mut obj = match out.take() {
                    Value::Object(obj) => obj,
                    _ => Map::new(),
                };
                while let Some(key) = map.next_key_seed(KeyVisitor)? {
                    // Go zeroes the element before decoding each map entry.
                    let child = Path::Key(path, &key);
                    decoder.forget_below(&child);
                    let mut fresh = default_for(*inner);
                    map.next_value_seed(Slot {
                        decoder: &mut *decoder,
                        shape: *inner,
                        out: &mut fresh,
                        path: &child,
                    })?;
                    obj.insert(key.into_owned(), fresh);
                }
                *out = Value::Object(obj);
                Ok(())
            }
            shape => Err(self.type_error(expected_name(shape), "an object")),
        }
    }
}

/// A value no field takes, read and dropped. Every string in it is read
/// as a string (UTF-8 and escapes checked) rather than skipped over, so
/// that a body is refused for the same malformed text wherever it stands.
struct Skipped;

impl<'de> serde::Deserialize<'de> for Skipped {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Skipped)
    }
}

impl<'de> Visitor<'de> for Skipped {
    type Value = Skipped;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Skipped, E> {
        Ok(Skipped)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Skipped, E> {
        Ok(Skipped)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Skipped, E> {
        Ok(Skipped)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Skipped, E> {
        Ok(Skipped)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Skipped, E> {
        Ok(Skipped)
    }
    fn visit_str<E>(self, _: &str) -> Result<Skipped, E> {
        Ok(Skipped)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skipped, A::Error> {
        while seq.next_element::<Skipped>()?.is_some() {}
        Ok(Skipped)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skipped, A::Error> {
        while map.next_key_seed(KeyVisitor)?.is_some() {
            map.next_value::<Skipped>()?;
        }
        Ok(Skipped)
    }
}

/// The output slot of a struct field, made with the field's zero value on
/// its first occurrence.
fn field_slot<'m>(obj: &'m mut Map<String, Value>, field: &Field) -> &'m mut Value {
    obj.entry(field.name)
        .or_insert_with(|| default_for(field.shape))
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
    fn exact_name_beats_folded_name_in_a_long_struct() {
        // Over SMALL_STRUCT fields, so the name tables answer.
        const MANY: &[Field] = &[
            Field::new("A1", Shape::Str),
            Field::new("A2", Shape::Str),
            Field::new("A3", Shape::Str),
            Field::new("A4", Shape::Str),
            Field::new("A5", Shape::Str),
            Field::new("A6", Shape::Str),
            Field::new("A7", Shape::Str),
            Field::new("user", Shape::Str),
            Field::new("User", Shape::Str),
            Field::new("Image", Shape::Str),
        ];
        let v = decode_bytes(
            br#"{"User":"a","user":"b","USER":"c","\u0130mage":"x","iMAGE":"y"}"#,
            Shape::Struct(MANY),
        )
        .unwrap();
        assert_eq!(v["User"], "a");
        assert_eq!(v["user"], "c");
        // U+0130 folds to no ASCII letter in Go's simple folding.
        assert_eq!(v["Image"], "y");
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
    fn malformed_text_is_refused_in_values_no_field_takes() {
        // Go would read the lone surrogate as U+FFFD; refusing such a body
        // is the safe side, and it is refused wherever it stands.
        let err = decode_str(r#"{"Hostname":{"a":["\ud800"]},"Image":"a"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "request body is not valid JSON: unexpected end of hex escape at line 1 column 26"
        );
        let err = decode_bytes(
            b"{\"Hostname\":\"\xff\",\"Image\":\"a\"}",
            Shape::Struct(OUTER),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "request body is not valid JSON: invalid unicode code point at line 1 column 14"
        );
    }

    #[test]
    fn deep_nesting_is_refused_without_exhausting_the_stack() {
        // A tokio worker's stack, where the gate decodes.
        let decoded = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(|| {
                let deep = "[".repeat(100_000);
                let skipped = decode_str(&format!(r#"{{"Hostname":{deep}"#)).unwrap_err();
                let kept = decode_bytes(
                    format!(r#"{{"Volumes":{{"/a":{deep}"#).as_bytes(),
                    Shape::Struct(crate::docker_types::CONFIG),
                )
                .unwrap_err();
                (skipped.to_string(), kept.to_string())
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(
            decoded.0,
            "request body is not valid JSON: recursion limit exceeded at line 1 column 139"
        );
        assert_eq!(
            decoded.1,
            "request body is not valid JSON: recursion limit exceeded at line 1 column 143"
        );
    }

    #[test]
    fn only_json_white_space_makes_an_empty_body() {
        assert_eq!(
            decode_str(" \t\r\n").unwrap_err().to_string(),
            "request body is not valid JSON: the body is empty"
        );
        assert_eq!(
            decode_str("\u{c}").unwrap_err().to_string(),
            "request body is not valid JSON: expected value at line 1 column 1"
        );
    }

    #[test]
    fn a_syntax_error_after_a_type_error_is_what_is_reported() {
        let err = decode_str(r#"{"HostConfig":{"Privileged":"yes"},"Image":"a",}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "request body is not valid JSON: trailing comma at line 1 column 48"
        );
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
