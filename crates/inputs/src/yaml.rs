//! YAML read into a tree that remembers where every value was written, so
//! that findings in compose files point at a line and column.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

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

fn pos(mark: Marker) -> Pos {
    Pos {
        line: mark.line(),
        col: mark.col() + 1,
        file: 0,
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

#[derive(Default)]
struct Builder {
    stack: Vec<(Node, usize, Option<Node>)>,
    anchors: HashMap<usize, Node>,
    docs: Vec<Node>,
    error: Option<YamlError>,
}

impl Builder {
    fn push_value(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some((parent, _, pending_key)) => match &mut parent.value {
                Value::Seq(items) => items.push(node),
                Value::Map(entries) => match pending_key.take() {
                    None => *pending_key = Some(node),
                    Some(key) => {
                        if key.as_str() == Some("<<") {
                            merge_into(entries, &node);
                        } else {
                            entries.push((key, node));
                        }
                    }
                },
                Value::Scalar(..) => {}
            },
        }
    }
}

/// `<<: *anchor` (or a list of anchors): copy keys that are not set yet.
fn merge_into(entries: &mut Vec<(Node, Node)>, source: &Node) {
    let sources: Vec<&Node> = match &source.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![source],
    };
    for source in sources {
        for (k, v) in source.entries() {
            if !entries
                .iter()
                .any(|(existing, _)| existing.as_str() == k.as_str())
            {
                entries.push((k.clone(), v.clone()));
            }
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::Scalar(text, style, anchor, _) => {
                let quoted = !matches!(style, TScalarStyle::Plain);
                self.push_value(
                    Node {
                        value: Value::Scalar(text, quoted),
                        pos: pos(mark),
                    },
                    anchor,
                );
            }
            Event::SequenceStart(anchor, _) => self.stack.push((
                Node {
                    value: Value::Seq(Vec::new()),
                    pos: pos(mark),
                },
                anchor,
                None,
            )),
            Event::MappingStart(anchor, _) => self.stack.push((
                Node {
                    value: Value::Map(Vec::new()),
                    pos: pos(mark),
                },
                anchor,
                None,
            )),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((mut node, anchor, _)) = self.stack.pop() {
                    // A block mapping is reported where its first key is
                    // written, which is where a reader looks for it.
                    if let Value::Map(entries) = &node.value {
                        if let Some((key, _)) = entries.first() {
                            node.pos = key.pos;
                        }
                    }
                    self.push_value(node, anchor);
                }
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(mut node) => {
                    node.pos = pos(mark);
                    self.push_value(node, 0);
                }
                None => {
                    self.error = Some(YamlError {
                        line: mark.line(),
                        col: mark.col() + 1,
                        message: "alias to an unknown anchor".into(),
                    })
                }
            },
            _ => {}
        }
    }
}

/// Parses the first document of a YAML text.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, false).map_err(|e| YamlError {
        line: e.marker().line(),
        col: e.marker().col() + 1,
        message: e.info().to_string(),
    })?;
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(builder.docs.into_iter().next().unwrap_or(Node {
        value: Value::Map(Vec::new()),
        pos: Pos {
            line: 1,
            col: 1,
            file: 0,
        },
    }))
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
}
