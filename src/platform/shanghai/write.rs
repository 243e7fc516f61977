//! Writing the model as `RemoteApply` / `RemoteDecision`: UTF-8, the default namespace,
//! elements in schema order, two-space indentation like the partner's samples. Output is a
//! pure function of the document, so the same document always gives the same bytes.

use base64::Engine as _;

use super::NAMESPACE;
use crate::model::message::Message;
use crate::model::{
    beijing, format_fixed, Application, Decision, Document, File, IdDocument, Instant, Outcome,
    Problems,
};
use crate::platform::Written;

/// Bytes of markup and short fields around the attachments; generous so that a typical
/// document is written without the buffer growing.
const MARKUP_ESTIMATE: usize = 8 * 1024;

/// Writes `doc`; see [`super::write`].
pub(super) fn write(doc: &Document) -> Written {
    let mut w = Writer {
        out: Vec::with_capacity(capacity(doc)),
        warnings: Problems::new(),
    };
    w.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    match doc {
        Document::Application(a) => w.application(a),
        Document::Decision(d) => w.decision(d),
    }
    Written {
        bytes: w.out,
        warnings: w.warnings,
    }
}

/// The output size, dominated by the base64 content copied once from the model.
pub(super) fn capacity(doc: &Document) -> usize {
    match doc {
        Document::Application(a) => {
            let files: usize = a
                .materials
                .iter()
                .map(|m| m.file.content.as_str().len() + 512)
                .sum();
            let ext: usize = a
                .extensions
                .iter()
                .map(|(k, v)| k.len() + v.len() + 48)
                .sum();
            MARKUP_ESTIMATE + files + ext
        }
        Document::Decision(d) => {
            MARKUP_ESTIMATE
                + d.licence
                    .as_ref()
                    .map_or(0, |l| l.file.content.as_str().len())
        }
    }
}

/// `2026-11-20T09:30:00+08:00`: the same instant, in Beijing time.
pub(super) fn format_time(t: &Instant) -> String {
    t.with_timezone(&beijing())
        .format("%Y-%m-%dT%H:%M:%S+08:00")
        .to_string()
}

/// True for characters XML 1.0 cannot carry at all, even as a reference.
fn forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

/// True when `s` can be written as it stands, in text or in an attribute: no markup or
/// whitespace that needs a reference, and nothing [`forbidden`]. One pass over the bytes;
/// U+FFFE and U+FFFF are the only forbidden characters outside ASCII (`EF BF BE`, `EF BF BF`).
fn plain(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| match b {
        b'&' | b'<' | b'>' | b'"' | b'\r' | b'\t' | b'\n' | 0..0x20 => false,
        0xEF => !matches!(bytes.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])),
        _ => true,
    })
}

struct Writer {
    out: Vec<u8>,
    warnings: Problems,
}

impl Writer {
    fn raw(&mut self, s: &str) {
        self.out.extend_from_slice(s.as_bytes());
    }

    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.extend_from_slice(b"  ");
        }
    }

    /// Escaped character data. A carriage return is written as a reference so parsers do
    /// not fold it away; in attributes, tabs and line feeds too (attribute values are
    /// otherwise normalised to spaces). Characters XML cannot carry become U+FFFD, with a
    /// warning at `path`.
    fn escaped(&mut self, s: &str, attribute: bool, path: &dyn Fn() -> String) {
        if plain(s) {
            self.raw(s);
            return;
        }
        let mut replaced = false;
        for c in s.chars() {
            match c {
                '&' => self.raw("&amp;"),
                '<' => self.raw("&lt;"),
                '>' => self.raw("&gt;"),
                '"' if attribute => self.raw("&quot;"),
                '\r' => self.raw("&#13;"),
                '\t' if attribute => self.raw("&#9;"),
                '\n' if attribute => self.raw("&#10;"),
                c if forbidden(c) => {
                    replaced = true;
                    self.raw("\u{FFFD}");
                }
                c => {
                    let mut buf = [0u8; 4];
                    self.raw(c.encode_utf8(&mut buf));
                }
            }
        }
        if replaced {
            self.warnings.warn(path(), Message::WriteControlChars);
        }
    }

    fn open(&mut self, depth: usize, name: &str) {
        self.indent(depth);
        self.out.push(b'<');
        self.raw(name);
        self.raw(">\n");
    }

    fn close(&mut self, depth: usize, name: &str) {
        self.indent(depth);
        self.raw("</");
        self.raw(name);
        self.raw(">\n");
    }

    /// `<name a="v" …>text</name>`, or `<name a="v" …/>` when `text` is `None`; `parent` and
    /// the 1-based `index` of a repeated element name it in warnings.
    fn element(
        &mut self,
        depth: usize,
        parent: &str,
        (name, index): (&str, Option<usize>),
        attrs: &[(&str, &str)],
        text: Option<&str>,
    ) {
        let path = || match index {
            Some(i) => format!("{parent}/{name}[{i}]"),
            None => format!("{parent}/{name}"),
        };
        self.indent(depth);
        self.out.push(b'<');
        self.raw(name);
        for (a, v) in attrs {
            self.out.push(b' ');
            self.raw(a);
            self.raw("=\"");
            self.escaped(v, true, &|| format!("{}/@{a}", path()));
            self.out.push(b'"');
        }
        match text {
            None => self.raw("/>\n"),
            Some(t) => {
                self.out.push(b'>');
                self.escaped(t, false, &path);
                self.raw("</");
                self.raw(name);
                self.raw(">\n");
            }
        }
    }

    fn leaf(&mut self, depth: usize, path: &str, name: &str, text: &str) {
        self.element(depth, path, (name, None), &[], Some(text));
    }

    fn id(&mut self, depth: usize, path: &str, id: &IdDocument) {
        self.leaf(depth, path, "IdType", id.kind.sh());
        // The model stores a resident id with an uppercase X; other documents keep their case.
        self.leaf(depth, path, "IdNumber", id.number());
    }

    fn application(&mut self, a: &Application) {
        let p = "/RemoteApply";
        self.raw("<RemoteApply xmlns=\"");
        self.raw(NAMESPACE);
        self.raw("\">\n");
        self.leaf(1, p, "ApplyNo", a.number.as_str());
        self.leaf(1, p, "ItemCode", a.item.sh());

        let pa = "/RemoteApply/Applicant";
        self.open(1, "Applicant");
        self.leaf(2, pa, "Name", &a.applicant.name);
        self.id(2, pa, &a.applicant.id);
        self.leaf(2, pa, "Mobile", a.applicant.mobile.as_str());
        self.close(1, "Applicant");

        let po = "/RemoteApply/Operator";
        let o = &a.operator;
        self.open(1, "Operator");
        self.leaf(2, po, "Name", &o.name);
        if let Some(u) = &o.uscc {
            self.leaf(2, po, "Uscc", u.as_str());
        }
        self.leaf(2, po, "EntityType", o.entity_type.sh());
        self.open(2, "LegalRep");
        let pl = "/RemoteApply/Operator/LegalRep";
        self.leaf(3, pl, "Name", &o.legal_rep.name);
        self.id(3, pl, &o.legal_rep.id);
        self.close(2, "LegalRep");
        if let Some(c) = o.registered_capital {
            let amount = format_fixed(c.0, 2, false);
            self.element(
                2,
                po,
                ("RegisteredCapital", None),
                &[("currency", "CNY")],
                Some(&amount),
            );
        }
        self.leaf(2, po, "Residence", &o.residence);
        self.close(1, "Operator");

        let pp = "/RemoteApply/Premises";
        self.open(1, "Premises");
        self.leaf(2, pp, "DivisionCode", &a.premises.division.to_string());
        self.leaf(2, pp, "Address", &a.premises.address);
        self.leaf(2, pp, "Area", &format_fixed(a.premises.area.0, 2, false));
        self.close(1, "Premises");

        if let Some(f) = &a.food {
            let pf = "/RemoteApply/FoodBusiness";
            self.open(1, "FoodBusiness");
            self.element(
                2,
                pf,
                ("MainFormat", None),
                &[("code", f.main_format.sh())],
                Some(f.main_format.name()),
            );
            if let Some(n) = &f.format_note {
                self.leaf(2, pf, "FormatNote", n);
            }
            self.open(2, "Items");
            for (i, item) in f.items.iter().enumerate() {
                self.element(
                    3,
                    "/RemoteApply/FoodBusiness/Items",
                    ("Item", Some(i + 1)),
                    &[("code", item.sh())],
                    Some(item.name()),
                );
            }
            self.close(2, "Items");
            let ps = "/RemoteApply/FoodBusiness/SafetyManager";
            let m = &f.safety_manager;
            self.open(2, "SafetyManager");
            self.leaf(3, ps, "Name", &m.name);
            self.leaf(3, ps, "IdNumber", m.id_number.as_str());
            self.leaf(3, ps, "Mobile", m.mobile.as_str());
            self.close(2, "SafetyManager");
            let online = if f.online_sales { "true" } else { "false" };
            self.leaf(2, pf, "OnlineSales", online);
            self.close(1, "FoodBusiness");
        }
        if let Some(s) = &a.business_scope {
            self.leaf(1, p, "BusinessScope", s);
        }

        self.open(1, "Materials");
        for (i, m) in a.materials.iter().enumerate() {
            let pm = format!("/RemoteApply/Materials/Material[{}]", i + 1);
            self.indent(2);
            self.raw("<Material code=\"");
            self.raw(m.code.sh());
            self.raw("\">\n");
            self.leaf(3, &pm, "Title", &m.title);
            self.file(3, &pm, &m.file, true);
            self.close(2, "Material");
        }
        self.close(1, "Materials");

        let pc = "/RemoteApply/Acceptance";
        let acc = &a.acceptance;
        self.open(1, "Acceptance");
        self.element(
            2,
            pc,
            ("Office", None),
            &[("uscc", acc.office_uscc.as_str())],
            Some(&acc.office),
        );
        self.leaf(2, pc, "Clerk", &acc.clerk);
        self.leaf(2, pc, "AcceptedAt", &format_time(&acc.accepted_at));
        self.close(1, "Acceptance");

        let region = a.target.region.to_string();
        self.element(
            1,
            p,
            ("Target", None),
            &[("region", &region), ("authority", &a.target.authority)],
            None,
        );
        if let Some(c) = &a.contact {
            let pc = "/RemoteApply/Contact";
            self.open(1, "Contact");
            self.leaf(2, pc, "Name", &c.name);
            self.leaf(2, pc, "Mobile", c.mobile.as_str());
            self.close(1, "Contact");
        }
        if let Some(r) = &a.remark {
            self.leaf(1, p, "Remark", r);
        }
        // Every extension is carried as it stands, whatever its name: the gateway's own
        // (`~zj:…`, `~sh:…`) and the partner's alike (see [`crate::model::Extensions`]).
        let carried = &a.extensions;
        if !carried.is_empty() {
            self.open(1, "Extensions");
            for (i, (k, v)) in carried.iter().enumerate() {
                self.element(
                    2,
                    "/RemoteApply/Extensions",
                    ("Field", Some(i + 1)),
                    &[("name", k)],
                    Some(v),
                );
            }
            self.close(1, "Extensions");
        }
        self.raw("</RemoteApply>\n");
    }

    /// `FileName`, `MimeType`, `Digest`, `Content`; the content is copied once, straight from
    /// the model's base64 text (its alphabet needs no escaping).
    fn file(&mut self, depth: usize, path: &str, f: &File, algorithm: bool) {
        self.leaf(depth, path, "FileName", &f.name);
        self.leaf(depth, path, "MimeType", &f.mime_type);
        let digest = base64::engine::general_purpose::STANDARD.encode(f.sha256.0);
        let attrs: &[(&str, &str)] = if algorithm {
            &[("algorithm", "SHA-256")]
        } else {
            &[]
        };
        self.element(depth, path, ("Digest", None), attrs, Some(&digest));
        self.indent(depth);
        self.raw("<Content>");
        self.out.extend_from_slice(f.content.as_str().as_bytes());
        self.raw("</Content>\n");
    }

    fn decision(&mut self, d: &Decision) {
        let p = "/RemoteDecision";
        self.raw("<RemoteDecision xmlns=\"");
        self.raw(NAMESPACE);
        self.raw("\">\n");
        self.leaf(1, p, "ApplyNo", d.number.as_str());
        let code = match d.outcome {
            Outcome::Granted => "GRANTED",
            Outcome::Refused => "REFUSED",
            Outcome::Correction => "CORRECTION",
        };
        self.element(
            1,
            p,
            ("Result", None),
            &[("code", code)],
            d.outcome_note.as_deref(),
        );
        self.leaf(1, p, "Opinion", &d.opinion);
        self.leaf(1, p, "Officer", &d.officer);
        self.leaf(1, p, "DecidedAt", &format_time(&d.decided_at));
        if let Some(l) = &d.licence {
            let pl = "/RemoteDecision/License";
            self.open(1, "License");
            self.leaf(2, pl, "LicenseNo", &l.number);
            self.leaf(2, pl, "LicenseName", &l.name);
            self.leaf(
                2,
                pl,
                "ValidFrom",
                &l.valid_from.format("%Y-%m-%d").to_string(),
            );
            self.leaf(2, pl, "ValidTo", &l.valid_to.format("%Y-%m-%d").to_string());
            self.leaf(2, pl, "IssuedBy", &l.issued_by);
            self.leaf(
                2,
                pl,
                "IssuedOn",
                &l.issued_on.format("%Y-%m-%d").to_string(),
            );
            if let Some(u) = &l.uscc {
                self.leaf(2, pl, "Uscc", u.as_str());
            }
            self.open(2, "File");
            self.file(3, "/RemoteDecision/License/File", &l.file, false);
            self.close(2, "File");
            self.close(1, "License");
        }
        self.raw("</RemoteDecision>\n");
        for key in d.extensions.keys() {
            self.warnings
                .warn(key.as_str(), Message::WriteDecisionExtensionDropped);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::plain;

    #[test]
    fn plain_values_are_those_written_as_they_stand() {
        for s in [
            "",
            "陆佳怡",
            "（全角）",
            "\u{FFFD}",
            "\u{EFFF}",
            "a'b",
            "JVBERi0x+/=",
        ] {
            assert!(plain(s), "{s:?}");
        }
        for s in [
            "a&b",
            "<",
            ">",
            "\"",
            "\r",
            "\t",
            "\n",
            "\u{1}",
            "x\u{FFFE}",
            "\u{FFFF}y",
        ] {
            assert!(!plain(s), "{s:?}");
        }
    }
}
