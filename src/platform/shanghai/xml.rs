//! The XML layer of the Shanghai adapter: the declared encoding, then a small element tree
//! checked for namespaces, DOCTYPEs and well-formedness. The tree borrows text from the
//! decoded input wherever it holds no escapes, so a 20 MiB attachment is not copied here.

use std::borrow::Cow;

use quick_xml::events::attributes::Attributes;
use quick_xml::events::Event;
use quick_xml::name::{NamespaceError, PrefixDeclaration};
use quick_xml::Reader;

use super::NAMESPACE;
use crate::model::Problems;

/// Deepest element nesting a Shanghai document has is 4 (`RemoteApply/FoodBusiness/Items/Item`);
/// anything much deeper is an attack on the reader's stack or memory, not a licence application.
const MAX_DEPTH: usize = 16;

/// Room for the children of an element when its first child arrives: most sequences of a
/// Shanghai document have at most 8 elements (`RemoteApply` has 13 and grows once).
const CHILDREN: usize = 8;

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
    /// Local name (the prefix, if any, is resolved away), borrowed from the input.
    pub name: &'a str,
    /// `/RemoteApply/Materials/Material[2]`, kept in the tree's [`Paths`].
    pub path: PathId,
    /// Unqualified attributes, unescaped; borrowed from the input when they hold no escapes.
    pub attrs: Vec<(&'a str, Cow<'a, str>)>,
    /// Character data, unescaped; borrowed from the input when it holds no escapes.
    /// Whitespace-only text after a child element is not added to text that is itself
    /// whitespace only, so the indentation between children costs no copies. Nothing is
    /// lost: an element with children is either a sequence, whose text is only looked at
    /// trimmed, or a leaf holding a stray element, which is refused anyway.
    pub text: Cow<'a, str>,
    /// Child elements in document order.
    pub children: Vec<Element<'a>>,
}

impl<'a> Element<'a> {
    fn new(name: &'a str, path: PathId) -> Self {
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
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_ref())
    }
    fn push_text(&mut self, t: Cow<'a, str>) {
        if self.text.is_empty() {
            self.text = t;
        } else if !self.children.is_empty() && is_blank(&self.text) && is_blank(&t) {
            // Indentation between child elements: the text stays blank either way.
        } else {
            self.text.to_mut().push_str(&t);
        }
    }
}

/// Whether `s` is only XML whitespace (space, tab, line feed, carriage return).
fn is_blank(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// A parsed document: the root element, and the paths of its elements.
#[derive(Debug)]
pub(super) struct Tree<'a> {
    /// The root element.
    pub root: Element<'a>,
    /// Where each element's path is spelt out.
    pub paths: Paths,
}

/// The paths of all elements of a tree, one after another in one buffer: paths are only
/// read to report a problem, so building one `String` per element would be wasted work.
/// Bytes rather than a `String` for `Vec::extend_from_within` (a child's path starts with
/// its parent's); only whole `&str`s are ever added.
#[derive(Debug)]
pub(super) struct Paths(Vec<u8>);

/// Where one element's path lies in its tree's [`Paths`].
#[derive(Debug, Clone, Copy)]
pub(super) struct PathId {
    start: usize,
    end: usize,
}

/// Bytes of paths reserved up front: a whole application's paths fit.
const PATHS_CAPACITY: usize = 2048;

impl Paths {
    /// The path of `el`: `/RemoteApply/Materials/Material[2]`.
    pub fn of(&self, el: &Element) -> &str {
        // Always whole `&str`s, so this cannot fail.
        std::str::from_utf8(&self.0[el.path.start..el.path.end]).unwrap_or_default()
    }

    /// Adds the path of the child `name` of the element at `parent` (the root when `None`):
    /// `…/Name`, or `…/Name[2]` with a 1-based `index`.
    fn child(&mut self, parent: Option<PathId>, name: &str, index: Option<usize>) -> PathId {
        let start = self.0.len();
        if let Some(p) = parent {
            self.0.extend_from_within(p.start..p.end);
        }
        self.0.push(b'/');
        self.0.extend_from_slice(name.as_bytes());
        if let Some(i) = index {
            self.0.push(b'[');
            self.0.extend_from_slice(i.to_string().as_bytes());
            self.0.push(b']');
        }
        PathId {
            start,
            end: self.0.len(),
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

/// The namespace bound to the reserved prefix `xml`.
const XML_NAMESPACE: &[u8] = b"http://www.w3.org/XML/1998/namespace";
/// The namespace bound to the reserved prefix `xmlns`.
const XMLNS_NAMESPACE: &[u8] = b"http://www.w3.org/2000/xmlns/";

/// One `xmlns` or `xmlns:prefix` declaration in scope.
#[derive(Debug)]
struct Binding<'a> {
    /// `None` for the default namespace.
    prefix: Option<&'a [u8]>,
    /// The namespace name as written; empty undeclares.
    uri: Cow<'a, [u8]>,
    /// Depth of the declaring element (the root is 1).
    depth: usize,
}

/// Namespace declarations in scope, resolved exactly as quick-xml's `NsReader` does but
/// without its per-element costs: a Shanghai document declares its namespace once or twice,
/// so the attributes of an element are only looked at for declarations when the tag holds
/// `xmlns`, and there is no scope to push or pop for the others.
#[derive(Debug, Default)]
struct Namespaces<'a> {
    /// Declarations in document order; those deeper than the open elements are stale.
    bindings: Vec<Binding<'a>>,
}

impl<'a> Namespaces<'a> {
    /// Enters the element `tag` (the tag without brackets, its name `qualified` bytes long)
    /// at `depth`: declarations of closed elements leave scope, the element's own enter it.
    /// Errors are those `NsReader` reports for bindings of the reserved prefixes.
    fn enter(
        &mut self,
        tag: &'a str,
        qualified: usize,
        depth: usize,
    ) -> Result<(), NamespaceError> {
        // Every open element is shallower than `depth`: anything at `depth` or deeper
        // belongs to an element that has closed.
        while self.bindings.last().is_some_and(|b| b.depth >= depth) {
            self.bindings.pop();
        }
        let rest = tag.get(qualified..).unwrap_or_default();
        if !rest.contains("xmlns") {
            return Ok(());
        }
        // As `NsReader`: declarations after a malformed attribute are not looked at.
        let mut attrs = Attributes::new(tag, qualified);
        attrs.with_checks(false);
        for attr in attrs.map_while(Result::ok) {
            let (prefix, uri) = match attr.key.as_namespace_binding() {
                None => continue,
                Some(PrefixDeclaration::Default) => (None, attr.value),
                Some(PrefixDeclaration::Named(b"xml")) => {
                    if *attr.value != *XML_NAMESPACE {
                        return Err(NamespaceError::InvalidXmlPrefixBind(
                            attr.value.into_owned(),
                        ));
                    }
                    continue;
                }
                Some(PrefixDeclaration::Named(b"xmlns")) => {
                    return Err(NamespaceError::InvalidXmlnsPrefixBind(
                        attr.value.into_owned(),
                    ));
                }
                Some(PrefixDeclaration::Named(p)) => {
                    if *attr.value == *XML_NAMESPACE {
                        return Err(NamespaceError::InvalidPrefixForXml(p.to_vec()));
                    }
                    if *attr.value == *XMLNS_NAMESPACE {
                        return Err(NamespaceError::InvalidPrefixForXmlns(p.to_vec()));
                    }
                    // `xmlns:="…"` declares the default namespace, as in `NsReader`.
                    (Some(p).filter(|p| !p.is_empty()), attr.value)
                }
            };
            self.bindings.push(Binding { prefix, uri, depth });
        }
        Ok(())
    }

    /// The namespace of a name with `prefix` (`None` when unprefixed); `element` names
    /// take the default namespace, attribute names never do.
    fn resolve(&self, prefix: Option<&[u8]>, element: bool) -> Ns {
        let bound = |uri: &[u8]| {
            if uri == NAMESPACE.as_bytes() {
                Ns::Ours
            } else {
                Ns::Other(String::from_utf8_lossy(uri).into_owned())
            }
        };
        match prefix {
            None if !element => Ns::None,
            None => match self.bindings.iter().rev().find(|b| b.prefix.is_none()) {
                Some(b) if !b.uri.is_empty() => bound(&b.uri),
                _ => Ns::None,
            },
            Some(b"xml") => bound(XML_NAMESPACE),
            Some(b"xmlns") => bound(XMLNS_NAMESPACE),
            Some(p) => match self.bindings.iter().rev().find(|b| b.prefix == Some(p)) {
                Some(b) if !b.uri.is_empty() => bound(&b.uri),
                _ => Ns::UnknownPrefix(String::from_utf8_lossy(p).into_owned()),
            },
        }
    }
}

/// Parses `text` into a tree of elements. Problems that leave the structure readable (a wrong
/// namespace, a bad entity in one field) are recorded and reading goes on; a DOCTYPE or a
/// syntax error stops it, since nothing after it can be trusted.
pub(super) fn parse<'a>(text: &'a str, problems: &mut Problems) -> Option<Tree<'a>> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut namespaces = Namespaces::default();
    // Open elements with their namespace status; the root when it closes.
    let mut stack: Vec<(Element<'a>, Ns)> = Vec::with_capacity(MAX_DEPTH);
    let mut root: Option<Element<'a>> = None;
    let mut paths = Paths(Vec::with_capacity(PATHS_CAPACITY));
    loop {
        let position = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => {
                let at = stack.last().map_or("/", |(el, _)| paths.of(el));
                problems.error(
                    at,
                    format!("the document is not well-formed XML near byte {position}: {e}"),
                );
                return None;
            }
        };
        // The event's own bytes: the reader works on `text`, so they are already checked
        // UTF-8 and need not be decoded again.
        let raw = text
            .get(position as usize..reader.buffer_position() as usize)
            .unwrap_or_default();
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
                let qualified = e.name().as_ref().len();
                // The tag without its brackets, borrowed from the input like `raw`, so the
                // attributes borrow from the input too.
                let tag = raw.get(1..1 + e.len()).unwrap_or_default();
                debug_assert_eq!(tag.as_bytes(), &**e);
                if let Err(err) = namespaces.enter(tag, qualified, stack.len() + 1) {
                    let at = stack.last().map_or("/", |(el, _)| paths.of(el));
                    problems.error(
                        at,
                        format!(
                            "the document is not well-formed XML near byte {position}: {}",
                            quick_xml::Error::from(err)
                        ),
                    );
                    return None;
                }
                let (local_name, prefix) = e.name().decompose();
                let ns = namespaces.resolve(prefix.map(|p| p.into_inner()), true);
                // `raw` is `<prefix:local …>`: the local name ends where the qualified one does.
                let local_len = local_name.as_ref().len();
                let local = raw
                    .get(1 + qualified - local_len..1 + qualified)
                    .unwrap_or_default();
                debug_assert_eq!(local.as_bytes(), e.local_name().as_ref());
                if root.is_some() {
                    problems.error("/", format!("content after the root element: <{local}>"));
                    return None;
                }
                if stack.len() >= MAX_DEPTH {
                    problems.error(
                        stack.last().map_or("/", |(el, _)| paths.of(el)),
                        format!("elements nested more than {MAX_DEPTH} deep"),
                    );
                    return None;
                }
                let path = match stack.last() {
                    None => paths.child(None, local, None),
                    Some((parent, _)) => {
                        let earlier = parent.children.iter().filter(|c| c.name == local).count();
                        let index =
                            (REPEATED.contains(&local) || earlier > 0).then_some(earlier + 1);
                        paths.child(Some(parent.path), local, index)
                    }
                };
                let mut el = Element::new(local, path);
                let parent_ns = stack.last().map(|(_, n)| n);
                if ns != Ns::Ours && parent_ns != Some(&ns) {
                    let what = match &ns {
                        Ns::Other(uri) => format!("is in namespace '{uri}'"),
                        Ns::None => "is in no namespace".to_owned(),
                        Ns::UnknownPrefix(p) => format!("uses the undeclared prefix '{p}'"),
                        Ns::Ours => String::new(),
                    };
                    problems.error(
                        paths.of(&el),
                        format!("element <{local}> {what}; Shanghai documents use the namespace {NAMESPACE}"),
                    );
                }
                for attr in Attributes::new(tag, qualified) {
                    let attr = match attr {
                        Ok(a) => a,
                        Err(err) => {
                            problems.error(paths.of(&el), format!("bad attribute: {err}"));
                            continue;
                        }
                    };
                    let key = attr.key;
                    let raw = key.as_ref();
                    if raw == b"xmlns" || raw.starts_with(b"xmlns:") {
                        continue;
                    }
                    let (alocal, aprefix) = key.decompose();
                    // Part of `tag`, so valid UTF-8 already.
                    let alocal = std::str::from_utf8(alocal.into_inner()).unwrap_or_default();
                    match namespaces.resolve(aprefix.map(|p| p.into_inner()), false) {
                        Ns::None => {}
                        // Attributes of other vocabularies (xsi:schemaLocation, …) carry
                        // nothing for us; they are ignored as XML Schema's lax wildcard would.
                        Ns::Other(_) => continue,
                        Ns::Ours | Ns::UnknownPrefix(_) => {
                            problems.error(
                                format!("{}/@{alocal}", paths.of(&el)),
                                "attributes of Shanghai documents are written without a prefix",
                            );
                            continue;
                        }
                    }
                    match attr.unescape_value() {
                        Ok(v) => el.attrs.push((alocal, v)),
                        Err(err) => problems.error(
                            format!("{}/@{alocal}", paths.of(&el)),
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
            Event::Text(ref t) => {
                debug_assert_eq!(raw.as_bytes(), &t[..]);
                // Text without `&` (the indentation between elements, most values) holds no
                // references: `unescape` would return it as it stands.
                let unescaped = if !raw.contains('&') {
                    Ok(Cow::Borrowed(raw))
                } else {
                    quick_xml::escape::unescape(raw)
                };
                match unescaped {
                    Ok(s) => match stack.last_mut() {
                        Some((el, _)) => el.push_text(s),
                        None if s.trim().is_empty() => {}
                        None => {
                            problems.error("/", "text outside the root element");
                            return None;
                        }
                    },
                    Err(err) => {
                        let at = stack.last().map_or("/", |(el, _)| paths.of(el));
                        problems.error(
                            at,
                            format!("bad character data: {err} (only the five predefined entities and character references are allowed)"),
                        );
                    }
                }
            }
            Event::CData(ref c) => {
                // `raw` is `<![CDATA[…]]>`; its content is text as it stands.
                let s = raw
                    .get("<![CDATA[".len()..raw.len().saturating_sub("]]>".len()))
                    .unwrap_or_default();
                debug_assert_eq!(s.as_bytes(), &c[..]);
                match stack.last_mut() {
                    Some((el, _)) => el.push_text(Cow::Borrowed(s)),
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
            paths.of(el),
            format!("the document ends before </{}>", el.name),
        );
        return None;
    }
    match root {
        Some(root) => Some(Tree { root, paths }),
        None => {
            problems.error("/", "the document has no root element");
            None
        }
    }
}

fn close<'a>(stack: &mut [(Element<'a>, Ns)], el: Element<'a>, root: &mut Option<Element<'a>>) {
    match stack.last_mut() {
        Some((parent, _)) => {
            if parent.children.is_empty() {
                // An element with one child usually has several (a sequence): one
                // allocation instead of growing 1, 2, 4, 8.
                parent.children.reserve(CHILDREN);
            }
            parent.children.push(el)
        }
        None => *root = Some(el),
    }
}
