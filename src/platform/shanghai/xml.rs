//! The XML layer of the Shanghai adapter: the declared encoding, then a small element tree
//! checked for namespaces, DOCTYPEs and well-formedness. The tree borrows text from the
//! decoded input wherever it holds no escapes, so a 20 MiB attachment is not copied here.

use std::borrow::Cow;
use std::ops::Range;

use quick_xml::events::attributes::{AttrError, Attribute, Attributes};
use quick_xml::events::Event;
use quick_xml::name::{NamespaceError, PrefixDeclaration};
use quick_xml::Reader;

use super::NAMESPACE;
use crate::model::message::{Message, Namespace};
use crate::model::text::{forbidden_char, forbidden_message};
use crate::model::{limits, Problems};

/// Deepest element nesting a Shanghai document has is 4 (`RemoteApply/FoodBusiness/Items/Item`);
/// anything much deeper is an attack on the reader's stack or memory, not a licence application.
const MAX_DEPTH: usize = 16;

/// Most problems of one kind reported for one document (or one parent element): the first
/// few name the fault; reporting thousands would only make a hostile document's refusal
/// cost time in proportion to the square of its size (every path counts its siblings).
pub(super) const MAX_REPORTED: usize = 20;

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
        problems.error("/", Message::XmlUtf16);
        return Err(problems);
    }
    match declared_encoding(body) {
        None => utf8(body, bom),
        Some(d) if d.eq_ignore_ascii_case("UTF-8") || d.eq_ignore_ascii_case("UTF8") => {
            utf8(body, bom)
        }
        Some(d) if d.eq_ignore_ascii_case("GB18030") && bom => {
            problems.error("/", Message::XmlBomGb18030);
            Err(problems)
        }
        Some(d) if d.eq_ignore_ascii_case("GB18030") => {
            match encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(body) {
                Some(text) => Ok(text),
                None => {
                    problems.error("/", Message::XmlBadGb18030);
                    Err(problems)
                }
            }
        }
        Some(other) => {
            problems.error(
                "/",
                Message::XmlEncoding {
                    value: other.to_owned(),
                },
            );
            Err(problems)
        }
    }
}

/// The `body` of a document declared UTF-8 (or not declared), checked; `bom` tells whether
/// a byte order mark came before it.
fn utf8(body: &[u8], bom: bool) -> Result<Cow<'_, str>, Problems> {
    // The same check and error as `std::str::from_utf8`, many bytes at a time: names and
    // addresses in Chinese take std's slow path, a character at a time.
    match simdutf8::compat::from_utf8(body) {
        Ok(text) => Ok(Cow::Borrowed(text)),
        Err(e) => {
            let mut problems = Problems::new();
            problems.error(
                "/",
                Message::XmlBadUtf8 {
                    byte: e.valid_up_to() + usize::from(bom) * 3,
                },
            );
            Err(problems)
        }
    }
}

/// The `encoding` pseudo-attribute of the XML declaration, read from the raw bytes (the
/// declaration is ASCII in both accepted encodings).
fn declared_encoding(body: &[u8]) -> Option<&str> {
    let rest = body.strip_prefix(b"<?xml")?;
    let end = rest.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&rest[..end]).ok()?;
    let at = decl.find("encoding")?;
    let after = decl[at + "encoding".len()..].trim_start();
    let after = after.strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &after[1..];
    let close = value.find(quote)?;
    value.get(..close)
}

/// A parsed document: every element in document order in one vector (the root first), and
/// every unqualified attribute in one more, so building the tree costs no allocation per
/// element. An element's descendants follow it directly, ending at its `end`.
#[derive(Debug)]
pub(super) struct Tree<'a> {
    elements: Vec<Element<'a>>,
    /// Unqualified attributes, unescaped; borrowed from the input when they hold no escapes.
    attrs: Vec<(&'a str, Cow<'a, str>)>,
}

/// One element of a [`Tree`].
#[derive(Debug)]
struct Element<'a> {
    /// Local name (the prefix, if any, is resolved away), borrowed from the input.
    name: &'a str,
    /// Index of the parent element (the root's is its own, 0).
    parent: usize,
    /// Where its attributes are in [`Tree::attrs`].
    attrs: Range<usize>,
    /// Character data, unescaped; borrowed from the input when it holds no escapes.
    /// Whitespace-only text after a child element is not added to text that is itself
    /// whitespace only, so the indentation between children costs no copies. Nothing is
    /// lost: an element with children is either a sequence, whose text is only looked at
    /// trimmed, or a leaf holding a stray element, which is refused anyway.
    text: Cow<'a, str>,
    /// Whether `text` is XML whitespace only, so that each piece of text is scanned once.
    blank: bool,
    /// Index after its last descendant (set when it closes).
    end: usize,
}

/// Room for the elements of a whole application, so the vector does not grow while parsing.
const ELEMENTS: usize = 64;
/// Room for the attributes of a whole application.
const ATTRIBUTES: usize = 16;

impl<'a> Tree<'a> {
    /// The root element. Only parsed trees are handed out, and they have one.
    pub fn root(&self) -> El<'_> {
        El { tree: self, at: 0 }
    }

    /// Adds the element `name` under `parent` (the root when the tree is empty).
    fn open(&mut self, name: &'a str, parent: usize) -> usize {
        let at = self.elements.len();
        self.elements.push(Element {
            name,
            parent,
            attrs: self.attrs.len()..self.attrs.len(),
            text: Cow::Borrowed(""),
            blank: true,
            end: usize::MAX,
        });
        at
    }

    fn close(&mut self, at: usize) {
        self.elements[at].end = self.elements.len();
    }

    /// Adds `t` to the text of the element at `at`; `blank` tells whether `t` is blank.
    /// Always inlined: it runs for every piece of text, and handing the text over in a call
    /// cost more than adding it.
    #[inline(always)]
    fn push_text(&mut self, at: usize, t: Cow<'a, str>, blank: bool) {
        let has_children = self.elements.len() > at + 1;
        let el = &mut self.elements[at];
        if el.text.is_empty() {
            el.text = t;
            el.blank = blank;
        } else if has_children && el.blank && blank {
            // Indentation between child elements: the text stays blank either way.
        } else {
            el.text.to_mut().push_str(&t);
            el.blank &= blank;
        }
    }

    /// The path of the element at `at` in Shanghai's vocabulary:
    /// `/RemoteApply/Materials/Material[2]`. Paths are only needed to report a problem, so
    /// they are spelt out then rather than kept for every element.
    fn path(&self, at: usize) -> String {
        let mut path = String::new();
        self.write_path(at, &mut path);
        path
    }

    fn write_path(&self, at: usize, path: &mut String) {
        let el = &self.elements[at];
        if at == 0 {
            path.push('/');
            path.push_str(el.name);
            return;
        }
        self.write_path(el.parent, path);
        path.push('/');
        path.push_str(el.name);
        // Earlier children of the parent are closed, so this works while parsing too.
        let mut earlier = 0;
        let mut sibling = el.parent + 1;
        while sibling < at {
            earlier += usize::from(self.elements[sibling].name == el.name);
            sibling = self.elements[sibling].end;
        }
        if REPEATED.contains(&el.name) || earlier > 0 {
            path.push_str(&format!("[{}]", earlier + 1));
        }
    }
}

/// Whether `s` is only XML whitespace (space, tab, line feed, carriage return).
fn is_blank(s: &str) -> bool {
    // By table: fewer steps per byte than comparing, for the indentation of every element.
    const BLANK: [bool; 256] = {
        let mut table = [false; 256];
        table[b' ' as usize] = true;
        table[b'\t' as usize] = true;
        table[b'\n' as usize] = true;
        table[b'\r' as usize] = true;
        table
    };
    s.bytes().all(|b| BLANK[usize::from(b)])
}

/// `prefix:local` as its prefix (if any) and local name, as `QName::decompose` splits it:
/// at the first colon. A plain loop: names are a few bytes, too short for `memchr` to pay.
fn split_prefix(name: &str) -> (Option<&str>, &str) {
    match name.bytes().position(|b| b == b':') {
        // The colon is ASCII, so both sides are whole `&str`s.
        Some(i) => (name.get(..i), name.get(i + 1..).unwrap_or_default()),
        None => (None, name),
    }
}

/// An element of a parsed [`Tree`].
#[derive(Debug, Clone, Copy)]
pub(super) struct El<'t> {
    tree: &'t Tree<'t>,
    at: usize,
}

impl<'t> El<'t> {
    fn get(self) -> &'t Element<'t> {
        &self.tree.elements[self.at]
    }
    /// Local name (the prefix, if any, is resolved away).
    pub fn name(self) -> &'t str {
        self.get().name
    }
    /// Character data, text and CDATA joined.
    pub fn text(self) -> &'t str {
        &self.get().text
    }
    /// Whether the text is XML whitespace only (or empty).
    pub fn is_blank(self) -> bool {
        self.get().blank
    }
    /// Whether it has unqualified attributes.
    pub fn has_attrs(self) -> bool {
        !self.get().attrs.is_empty()
    }
    /// Unqualified attributes, unescaped, in document order.
    pub fn attrs(self) -> impl Iterator<Item = (&'t str, &'t str)> {
        self.tree.attrs[self.get().attrs.clone()]
            .iter()
            .map(|(n, v)| (*n, v.as_ref()))
    }
    /// The attribute `name`, if given.
    pub fn attr(self, name: &str) -> Option<&'t str> {
        self.attrs().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
    /// Child elements in document order.
    pub fn children(self) -> impl Iterator<Item = El<'t>> {
        let tree = self.tree;
        let end = self.get().end;
        let mut next = self.at + 1;
        std::iter::from_fn(move || {
            let at = next;
            (at < end).then(|| {
                next = tree.elements[at].end;
                El { tree, at }
            })
        })
    }
    /// `/RemoteApply/Materials/Material[2]`.
    pub fn path(self) -> String {
        self.tree.path(self.at)
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
    /// Whether `uri` is Shanghai's namespace, decided once rather than for every element.
    ours: bool,
    /// Depth of the declaring element (the root is 1).
    depth: usize,
}

/// Namespace declarations in scope, resolved exactly as quick-xml's `NsReader` does but
/// without its per-element costs: a Shanghai document declares its namespace once or twice,
/// so there is no scope to push or pop for the other elements.
#[derive(Debug, Default)]
struct Namespaces<'a> {
    /// Declarations in document order; those deeper than the open elements are stale.
    bindings: Vec<Binding<'a>>,
}

impl<'a> Namespaces<'a> {
    /// Enters an element at `depth` with the well-formed attributes `attrs` (those before
    /// the first malformed one, whose declarations `NsReader` does not look at either):
    /// declarations of closed elements leave scope, the element's own enter it. Errors are
    /// those `NsReader` reports for bindings of the reserved prefixes.
    fn enter(&mut self, attrs: &[Attribute<'a>], depth: usize) -> Result<(), NamespaceError> {
        // Every open element is shallower than `depth`: anything at `depth` or deeper
        // belongs to an element that has closed.
        while self.bindings.last().is_some_and(|b| b.depth >= depth) {
            self.bindings.pop();
        }
        for attr in attrs {
            let (prefix, uri) = match attr.key.as_namespace_binding() {
                None => continue,
                Some(PrefixDeclaration::Default) => (None, attr.value.clone()),
                Some(PrefixDeclaration::Named(b"xml")) => {
                    if *attr.value != *XML_NAMESPACE {
                        return Err(NamespaceError::InvalidXmlPrefixBind(attr.value.to_vec()));
                    }
                    continue;
                }
                Some(PrefixDeclaration::Named(b"xmlns")) => {
                    return Err(NamespaceError::InvalidXmlnsPrefixBind(attr.value.to_vec()));
                }
                Some(PrefixDeclaration::Named(p)) => {
                    if *attr.value == *XML_NAMESPACE {
                        return Err(NamespaceError::InvalidPrefixForXml(p.to_vec()));
                    }
                    if *attr.value == *XMLNS_NAMESPACE {
                        return Err(NamespaceError::InvalidPrefixForXmlns(p.to_vec()));
                    }
                    // `xmlns:="…"` declares the default namespace, as in `NsReader`.
                    (Some(p).filter(|p| !p.is_empty()), attr.value.clone())
                }
            };
            let ours = *uri == *NAMESPACE.as_bytes();
            self.bindings.push(Binding {
                prefix,
                uri,
                ours,
                depth,
            });
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
                Some(b) if b.ours => Ns::Ours,
                Some(b) if !b.uri.is_empty() => bound(&b.uri),
                _ => Ns::None,
            },
            Some(b"xml") => bound(XML_NAMESPACE),
            Some(b"xmlns") => bound(XMLNS_NAMESPACE),
            Some(p) => match self.bindings.iter().rev().find(|b| b.prefix == Some(p)) {
                Some(b) if b.ours => Ns::Ours,
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
    let mut tree = Tree {
        elements: Vec::with_capacity(ELEMENTS),
        attrs: Vec::with_capacity(ATTRIBUTES),
    };
    // Open elements with their namespace status.
    let mut stack: Vec<(usize, Ns)> = Vec::with_capacity(MAX_DEPTH);
    // The attributes of one tag at a time (see `read_unchecked`).
    let mut scratch = Vec::new();
    // Elements reported for their namespace so far (see [`MAX_REPORTED`]).
    let mut foreign = 0;
    // Texts and attributes reported for a character XML forbids so far.
    let mut forbidden = 0;
    loop {
        let position = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => {
                let at = stack
                    .last()
                    .map_or("/".to_owned(), |(el, _)| tree.path(*el));
                problems.error(
                    at,
                    Message::XmlNotWellFormed {
                        byte: position,
                        detail: e.to_string(),
                    },
                );
                return None;
            }
        };
        // The reader works on `text` and hands out slices of it: those are taken as text
        // with `within`, already checked UTF-8, rather than decoded again.
        match event {
            Event::DocType(_) => {
                problems.error("/", Message::XmlDoctype);
                return None;
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let qualified = e.name().as_ref().len();
                // The tag without its brackets, borrowed from the input, so the attributes
                // borrow from the input too.
                let tag = within(text, e);
                // Most tags are only a name.
                let has_attrs = qualified < tag.len();
                scratch.clear();
                let regular = has_attrs && read_unchecked(tag, qualified, &mut scratch);
                if scratch.len() > limits::MAX_ATTRIBUTES {
                    let (_, local) = split_prefix(tag.get(..qualified).unwrap_or_default());
                    let parent = stack.last().map_or(String::new(), |(el, _)| tree.path(*el));
                    problems.error(
                        format!("{parent}/{local}"),
                        Message::TooManyAttributes {
                            max: limits::MAX_ATTRIBUTES,
                        },
                    );
                    return None;
                }
                if let Err(err) = namespaces.enter(&scratch, stack.len() + 1) {
                    let at = stack
                        .last()
                        .map_or("/".to_owned(), |(el, _)| tree.path(*el));
                    problems.error(
                        at,
                        Message::XmlNotWellFormed {
                            byte: position,
                            detail: quick_xml::Error::from(err).to_string(),
                        },
                    );
                    return None;
                }
                let (prefix, local) = split_prefix(tag.get(..qualified).unwrap_or_default());
                let ns = namespaces.resolve(prefix.map(str::as_bytes), true);
                debug_assert_eq!(local.as_bytes(), e.local_name().as_ref());
                if stack.is_empty() && !tree.elements.is_empty() {
                    problems.error(
                        "/",
                        Message::XmlAfterRoot {
                            name: local.to_owned(),
                        },
                    );
                    return None;
                }
                if tree.elements.len() >= limits::MAX_ELEMENTS {
                    problems.error(
                        stack
                            .last()
                            .map_or("/".to_owned(), |(el, _)| tree.path(*el)),
                        Message::TooManyElements {
                            max: limits::MAX_ELEMENTS,
                        },
                    );
                    return None;
                }
                if stack.len() >= MAX_DEPTH {
                    problems.error(
                        stack
                            .last()
                            .map_or("/".to_owned(), |(el, _)| tree.path(*el)),
                        Message::XmlTooDeep { max: MAX_DEPTH },
                    );
                    return None;
                }
                let parent = stack.last().map(|(p, _)| *p);
                let el = tree.open(local, parent.unwrap_or(0));
                let parent_ns = stack.last().map(|(_, n)| n);
                if ns != Ns::Ours && parent_ns != Some(&ns) && foreign < MAX_REPORTED {
                    foreign += 1;
                    let why = match &ns {
                        Ns::Other(uri) => Namespace::Other(uri.to_string()),
                        Ns::UnknownPrefix(p) => Namespace::UndeclaredPrefix(p.to_string()),
                        Ns::None | Ns::Ours => Namespace::None,
                    };
                    problems.error(
                        tree.path(el),
                        Message::XmlNamespace {
                            name: local.to_owned(),
                            why,
                            expected: NAMESPACE,
                        },
                    );
                }
                if has_attrs {
                    if regular {
                        for attr in scratch.drain(..) {
                            attribute(tag, el, Ok(attr), &mut tree, &namespaces, problems);
                        }
                    } else {
                        // Read again with quick-xml's checks, so that the errors are its own.
                        for attr in Attributes::new(tag, qualified) {
                            attribute(tag, el, attr, &mut tree, &namespaces, problems);
                        }
                    }
                    tree.elements[el].attrs.end = tree.attrs.len();
                }
                if empty {
                    tree.close(el);
                } else {
                    stack.push((el, ns));
                }
            }
            Event::End(_) => match stack.pop() {
                Some((el, _)) => tree.close(el),
                None => {
                    problems.error("/", Message::XmlEndWithoutStart);
                    return None;
                }
            },
            Event::Text(ref t) => {
                let raw = within(text, t);
                // Indentation between elements is blank, so it holds no references; other
                // text without `&` (most values) holds none either: `unescape` would return
                // it as it stands.
                let blank = is_blank(raw);
                let unescaped = if blank || !raw.contains('&') {
                    Ok(Cow::Borrowed(raw))
                } else {
                    quick_xml::escape::unescape(raw)
                };
                match unescaped {
                    Ok(s) => match stack.last() {
                        Some((el, _))
                            if !refuse_chars(&s, *el, &tree, &mut forbidden, problems) => {}
                        Some((el, _)) => {
                            // A reference can stand for white space.
                            let blank = blank || matches!(s, Cow::Owned(ref s) if is_blank(s));
                            tree.push_text(*el, s, blank)
                        }
                        None if s.trim().is_empty() => {}
                        None => {
                            problems.error("/", Message::XmlTextOutsideRoot);
                            return None;
                        }
                    },
                    Err(err) => {
                        let at = stack
                            .last()
                            .map_or("/".to_owned(), |(el, _)| tree.path(*el));
                        problems.error(
                            at,
                            Message::XmlBadCharacterData {
                                detail: err.to_string(),
                            },
                        );
                    }
                }
            }
            Event::CData(ref c) => {
                // The content of `<![CDATA[…]]>` is text as it stands.
                let s = within(text, c);
                match stack.last() {
                    Some((el, _)) if !refuse_chars(s, *el, &tree, &mut forbidden, problems) => {}
                    Some((el, _)) => tree.push_text(*el, Cow::Borrowed(s), is_blank(s)),
                    None => {
                        problems.error("/", Message::XmlCdataOutsideRoot);
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
            tree.path(*el),
            Message::XmlUnclosed {
                name: tree.elements[*el].name.to_string(),
            },
        );
        return None;
    }
    if tree.elements.is_empty() {
        problems.error("/", Message::XmlNoRoot);
        return None;
    }
    Some(tree)
}

/// Checks text (or CDATA) `s` of the element `el` for characters XML forbids: `true` when
/// there are none, else `false` with the first reported (up to [`MAX_REPORTED`] texts).
fn refuse_chars(
    s: &str,
    el: usize,
    tree: &Tree,
    reported: &mut usize,
    problems: &mut Problems,
) -> bool {
    let Some(c) = forbidden_char(s) else {
        return true;
    };
    *reported += 1;
    if *reported <= MAX_REPORTED {
        problems.error(tree.path(el), forbidden_message(c));
    } else if *reported == MAX_REPORTED + 1 {
        problems.error(
            "/",
            Message::XmlMoreForbidden {
                reported: MAX_REPORTED,
            },
        );
    }
    false
}

/// Reads the attributes of a `tag` (its name `qualified` bytes long) into `into`, up to the
/// first malformed one, and tells whether they were all well-formed with distinct names.
/// quick-xml's own check for duplicated names allocates a list of names for every tag; this
/// one uses `into`, a buffer reused for every tag, and a tag it finds irregular is read again
/// with quick-xml's checks (see `parse`), so that its errors are exactly quick-xml's.
fn read_unchecked<'a>(tag: &'a str, qualified: usize, into: &mut Vec<Attribute<'a>>) -> bool {
    let mut attrs = Attributes::new(tag, qualified);
    attrs.with_checks(false);
    let mut distinct = true;
    for attr in attrs {
        match attr {
            // Past the limit the tag is refused (see `parse`): no need to compare further.
            Ok(_) if into.len() > limits::MAX_ATTRIBUTES => return false,
            Ok(attr) => {
                distinct &= into.iter().all(|a| a.key != attr.key);
                into.push(attr);
            }
            Err(_) => return false,
        }
    }
    distinct
}

/// Adds one attribute of the element `el` (part of its `tag`) to the tree, or reports it.
fn attribute<'a>(
    tag: &'a str,
    el: usize,
    attr: Result<Attribute<'a>, AttrError>,
    tree: &mut Tree<'a>,
    namespaces: &Namespaces<'a>,
    problems: &mut Problems,
) {
    let attr = match attr {
        Ok(a) => a,
        Err(err) => {
            problems.error(
                tree.path(el),
                Message::XmlBadAttribute {
                    detail: err.to_string(),
                },
            );
            return;
        }
    };
    let key = attr.key;
    let raw = key.as_ref();
    if raw == b"xmlns" || raw.starts_with(b"xmlns:") {
        return;
    }
    let (prefix, local) = split_prefix(within(tag, raw));
    match namespaces.resolve(prefix.map(str::as_bytes), false) {
        Ns::None => {}
        // Attributes of other vocabularies (xsi:schemaLocation, …) carry nothing for us;
        // they are ignored as XML Schema's lax wildcard would.
        Ns::Other(_) => return,
        Ns::Ours | Ns::UnknownPrefix(_) => {
            problems.error(
                format!("{}/@{local}", tree.path(el)),
                Message::XmlPrefixedAttribute,
            );
            return;
        }
    }
    // As `Attribute::unescape_value`, without decoding the value again.
    let value = within(tag, &attr.value);
    let unescaped = if !value.contains('&') {
        Ok(Cow::Borrowed(value))
    } else {
        quick_xml::escape::unescape(value)
    };
    match unescaped {
        Ok(v) => match forbidden_char(&v) {
            None => tree.attrs.push((local, v)),
            Some(c) => problems.error(format!("{}/@{local}", tree.path(el)), forbidden_message(c)),
        },
        Err(err) => problems.error(
            format!("{}/@{local}", tree.path(el)),
            Message::XmlBadAttributeValue {
                detail: err.to_string(),
            },
        ),
    }
}

/// `part` as text, given that it is a slice of `whole`'s bytes, as quick-xml hands out the
/// names and values of a tag it was given as text: valid UTF-8 without checking it again.
fn within<'a>(whole: &'a str, part: &[u8]) -> &'a str {
    let start = (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
    let text = start
        .checked_add(part.len())
        .and_then(|end| whole.get(start..end))
        .unwrap_or_default();
    debug_assert_eq!(text.as_bytes(), part);
    text
}
