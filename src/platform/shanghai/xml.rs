//! The XML layer of the Shanghai adapter: the declared encoding, then a small element tree
//! checked for namespaces, DOCTYPEs and well-formedness. The tree borrows text from the
//! decoded input wherever it holds no escapes, so a 20 MiB attachment is not copied here.

use std::borrow::Cow;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use super::NAMESPACE;
use crate::model::Problems;

/// Deepest element nesting a Shanghai document has is 4 (`RemoteApply/FoodBusiness/Items/Item`);
/// anything much deeper is an attack on the reader's stack or memory, not a licence application.
const MAX_DEPTH: usize = 16;

/// Elements that repeat by design: their paths always carry a 1-based index
/// (`/RemoteApply/Materials/Material[1]`) so every problem names exactly one of them.
const REPEATED: [&str; 3] = ["Material", "Item", "Field"];

/// Decodes the document to text by its XML declaration: UTF-8 (the default; a UTF-8 byte
/// order mark is allowed) or GB18030 (older district systems, including 4-byte sequences
/// for rare characters). Anything else is refused: guessing an encoding corrupts names.
pub(super) fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, Problems> {
    let mut problems = Problems::new();
    let (bom, body) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (true, rest),
        None => (false, bytes),
    };
    if body.starts_with(b"\xFF\xFE") || body.starts_with(b"\xFE\xFF") {
        problems.error(
            "/",
            "the document is UTF-16 (byte order mark); Shanghai documents are UTF-8 or GB18030",
        );
        return Err(problems);
    }
    let declared = declared_encoding(body);
    let encoding = declared.as_deref().map(str::to_ascii_uppercase);
    match encoding.as_deref() {
        None | Some("UTF-8") | Some("UTF8") => match std::str::from_utf8(body) {
            Ok(text) => Ok(Cow::Borrowed(text)),
            Err(e) => {
                problems.error(
                    "/",
                    format!(
                        "the document is declared UTF-8 but byte {} is not valid UTF-8; declare encoding=\"GB18030\" if it is GB18030",
                        e.valid_up_to() + usize::from(bom) * 3
                    ),
                );
                Err(problems)
            }
        },
        Some("GB18030") if bom => {
            problems.error(
                "/",
                "the document starts with a UTF-8 byte order mark but declares GB18030",
            );
            Err(problems)
        }
        Some("GB18030") => {
            match encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(body) {
                Some(text) => Ok(text),
                None => {
                    problems.error(
                        "/",
                        "the document is declared GB18030 but holds bytes that are not valid GB18030",
                    );
                    Err(problems)
                }
            }
        }
        Some(_) => {
            problems.error(
                "/",
                format!(
                    "encoding '{}' is not accepted: Shanghai documents are UTF-8 or GB18030",
                    declared.unwrap_or_default()
                ),
            );
            Err(problems)
        }
    }
}

/// The `encoding` pseudo-attribute of the XML declaration, read from the raw bytes (the
/// declaration is ASCII in both accepted encodings).
fn declared_encoding(body: &[u8]) -> Option<String> {
    let rest = body.strip_prefix(b"<?xml")?;
    let end = rest.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&rest[..end]).ok()?;
    let at = decl.find("encoding")?;
    let after = decl[at + "encoding".len()..].trim_start();
    let after = after.strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &after[1..];
    let close = value.find(quote)?;
    Some(value[..close].to_owned())
}

/// One element: its local name, its path in Shanghai's vocabulary, its unqualified
/// attributes, its character data (text and CDATA joined) and its child elements.
#[derive(Debug)]
pub(super) struct Element<'a> {
    /// Local name (the prefix, if any, is resolved away).
    pub name: String,
    /// `/RemoteApply/Materials/Material[2]`.
    pub path: String,
    /// Unqualified attributes, unescaped.
    pub attrs: Vec<(String, String)>,
    /// Character data, unescaped; borrowed from the input when it holds no escapes.
    pub text: Cow<'a, str>,
    /// Child elements in document order.
    pub children: Vec<Element<'a>>,
}

impl<'a> Element<'a> {
    fn new(name: String, path: String) -> Self {
        Element {
            name,
            path,
            attrs: Vec::new(),
            text: Cow::Borrowed(""),
            children: Vec::new(),
        }
    }
    /// The attribute `name`, if given.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn push_text(&mut self, t: Cow<'a, str>) {
        if self.text.is_empty() {
            self.text = t;
        } else {
            self.text.to_mut().push_str(&t);
        }
    }
}

/// Whether a name was in Shanghai's namespace; otherwise what it was, for the message.
#[derive(Debug, Clone, PartialEq)]
enum Ns {
    Ours,
    Other(String),
    None,
    UnknownPrefix(String),
}

impl Ns {
    fn of(r: &ResolveResult) -> Ns {
        match r {
            ResolveResult::Bound(ns) if ns.0 == NAMESPACE.as_bytes() => Ns::Ours,
            ResolveResult::Bound(ns) => Ns::Other(String::from_utf8_lossy(ns.0).into_owned()),
            ResolveResult::Unbound => Ns::None,
            ResolveResult::Unknown(p) => Ns::UnknownPrefix(String::from_utf8_lossy(p).into_owned()),
        }
    }
}

/// Parses `text` into its root element. Problems that leave the structure readable (a wrong
/// namespace, a bad entity in one field) are recorded and reading goes on; a DOCTYPE or a
/// syntax error stops it, since nothing after it can be trusted.
pub(super) fn parse<'a>(text: &'a str, problems: &mut Problems) -> Option<Element<'a>> {
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = true;
    // Open elements with their namespace status; the root when it closes.
    let mut stack: Vec<(Element<'a>, Ns)> = Vec::new();
    let mut root: Option<Element<'a>> = None;
    loop {
        let position = reader.buffer_position();
        let (ns, event) = match reader.read_resolved_event() {
            Ok((r, e)) => (Ns::of(&r), e),
            Err(e) => {
                let at = stack.last().map_or("/", |(el, _)| el.path.as_str());
                problems.error(
                    at,
                    format!("the document is not well-formed XML near byte {position}: {e}"),
                );
                return None;
            }
        };
        match event {
            Event::DocType(_) => {
                problems.error(
                    "/",
                    "a DOCTYPE is refused: Shanghai documents have no DTD, and entity declarations can expand without bound",
                );
                return None;
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if root.is_some() {
                    problems.error("/", format!("content after the root element: <{local}>"));
                    return None;
                }
                if stack.len() >= MAX_DEPTH {
                    problems.error(
                        stack.last().map_or("/", |(el, _)| el.path.as_str()),
                        format!("elements nested more than {MAX_DEPTH} deep"),
                    );
                    return None;
                }
                let path = match stack.last() {
                    None => format!("/{local}"),
                    Some((parent, _)) => {
                        let earlier = parent.children.iter().filter(|c| c.name == local).count();
                        if REPEATED.contains(&local.as_str()) || earlier > 0 {
                            format!("{}/{local}[{}]", parent.path, earlier + 1)
                        } else {
                            format!("{}/{local}", parent.path)
                        }
                    }
                };
                let parent_ns = stack.last().map(|(_, n)| n.clone());
                if ns != Ns::Ours && parent_ns.as_ref() != Some(&ns) {
                    let what = match &ns {
                        Ns::Other(uri) => format!("is in namespace '{uri}'"),
                        Ns::None => "is in no namespace".to_owned(),
                        Ns::UnknownPrefix(p) => format!("uses the undeclared prefix '{p}'"),
                        Ns::Ours => String::new(),
                    };
                    problems.error(
                        path.clone(),
                        format!("element <{local}> {what}; Shanghai documents use the namespace {NAMESPACE}"),
                    );
                }
                let mut el = Element::new(local, path);
                for attr in e.attributes() {
                    let attr = match attr {
                        Ok(a) => a,
                        Err(err) => {
                            problems.error(el.path.clone(), format!("bad attribute: {err}"));
                            continue;
                        }
                    };
                    let key = attr.key;
                    let raw = key.as_ref();
                    if raw == b"xmlns" || raw.starts_with(b"xmlns:") {
                        continue;
                    }
                    let (ans, alocal) = reader.resolve_attribute(key);
                    let alocal = String::from_utf8_lossy(alocal.as_ref()).into_owned();
                    match Ns::of(&ans) {
                        Ns::None => {}
                        // Attributes of other vocabularies (xsi:schemaLocation, …) carry
                        // nothing for us; they are ignored as XML Schema's lax wildcard would.
                        Ns::Other(_) => continue,
                        Ns::Ours | Ns::UnknownPrefix(_) => {
                            problems.error(
                                format!("{}/@{alocal}", el.path),
                                "attributes of Shanghai documents are written without a prefix",
                            );
                            continue;
                        }
                    }
                    match attr.unescape_value() {
                        Ok(v) => el.attrs.push((alocal, v.into_owned())),
                        Err(err) => problems.error(
                            format!("{}/@{alocal}", el.path),
                            format!("bad attribute value: {err}"),
                        ),
                    }
                }
                if empty {
                    close(&mut stack, el, &mut root);
                } else {
                    stack.push((el, ns));
                }
            }
            Event::End(_) => match stack.pop() {
                Some((el, _)) => close(&mut stack, el, &mut root),
                None => {
                    problems.error("/", "an end tag without a start tag");
                    return None;
                }
            },
            Event::Text(t) => match t.unescape() {
                Ok(s) => match stack.last_mut() {
                    Some((el, _)) => el.push_text(s),
                    None if s.trim().is_empty() => {}
                    None => {
                        problems.error("/", "text outside the root element");
                        return None;
                    }
                },
                Err(err) => {
                    let at = stack.last().map_or("/", |(el, _)| el.path.as_str());
                    problems.error(
                        at,
                        format!("bad character data: {err} (only the five predefined entities and character references are allowed)"),
                    );
                }
            },
            Event::CData(c) => {
                // The input is already UTF-8 text, so decoding the section cannot fail.
                let s = c.decode().unwrap_or_default();
                match stack.last_mut() {
                    Some((el, _)) => el.push_text(s),
                    None => {
                        problems.error("/", "CDATA outside the root element");
                        return None;
                    }
                }
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some((el, _)) = stack.last() {
        problems.error(
            el.path.clone(),
            format!("the document ends before </{}>", el.name),
        );
        return None;
    }
    if root.is_none() {
        problems.error("/", "the document has no root element");
    }
    root
}

fn close<'a>(stack: &mut [(Element<'a>, Ns)], el: Element<'a>, root: &mut Option<Element<'a>>) {
    match stack.last_mut() {
        Some((parent, _)) => parent.children.push(el),
        None => *root = Some(el),
    }
}
