//! Reading `RemoteApply` and `RemoteDecision` into the model, collecting every problem with
//! its Shanghai path.
//!
//! Whitespace: free text (names, addresses, opinions, remarks, extension values) is kept
//! exactly as received, as XML Schema's `xs:string` does — a name is never normalised, and
//! a round trip gives back the same characters. Values with a lexical form (codes,
//! identifiers, numbers, dates, times, booleans, digests) have surrounding whitespace
//! removed first, as XML Schema's `collapse` facet does for those types, so pretty-printed
//! documents read the same as compact ones. Base64 content may be wrapped over lines.

use base64::{DecodeSliceError, Engine as _};
use chrono::{FixedOffset, NaiveDate, NaiveTime, TimeZone};

use super::xml::{self, El};
use crate::codes::{
    Code, EntityType, FoodItem, IdType, Item, Kind, MainFormat, Material as MaterialCode,
};
use crate::model::limits::{self, ExtensionBudget};
use crate::model::message::{Message, TableName};
use crate::model::rules::{self, ApplicationFacts, DecisionFacts, Field};
use crate::model::{
    parse_fixed, Acceptance, Applicant, Application, ApplicationNo, Base64Content,
    CentiSquareMetres, Contact, Date, Decision, DivisionCode, Document, Extensions, Fen, File,
    FoodBusiness, IdDocument, Instant, Invalid, Licence, Material, Mobile, Operator, Outcome,
    Person, Premises, Problems, ResidentId, SafetyManager, Sha256Digest, Target, Uscc,
};
use crate::platform::Read;

/// How often an element may occur in its parent's sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Occ {
    /// Exactly once.
    One,
    /// At most once.
    Opt,
    /// One or more.
    Many,
    /// Zero or more.
    Any,
}
use Occ::{Any, Many, One, Opt};

/// Reads a Shanghai document; see [`super::read`].
pub(super) fn read(bytes: &[u8]) -> Result<Read, Problems> {
    let text = xml::decode(bytes)?;
    let mut problems = Problems::new();
    let Some(tree) = xml::parse(&text, &mut problems) else {
        return Err(problems);
    };
    let root = tree.root();
    let mut r = Reader { p: &mut problems };
    let document = match root.name() {
        "RemoteApply" => r
            .application(root)
            .map(|a| Document::Application(Box::new(a))),
        "RemoteDecision" => r.decision(root).map(|d| Document::Decision(Box::new(d))),
        other => {
            problems.error(
                root.path(),
                Message::XmlUnknownDocument {
                    name: other.to_owned(),
                },
            );
            None
        }
    };
    if problems.has_errors() {
        return Err(problems);
    }
    match document {
        Some(document) => Ok(Read {
            document,
            warnings: problems,
        }),
        None => {
            problems.error("/", Message::DocumentIncomplete);
            Err(problems)
        }
    }
}

/// The children of one element, checked against the `N` slots of its sequence.
struct Kids<'t, const N: usize> {
    el: El<'t>,
    /// The first child filling each slot, in the order of the slots: callers take them
    /// apart by position (`let [name, mobile] = k.first;`) instead of searching by name.
    /// (rustfmt keeps a slice pattern on one line however long: long ones are laid out by
    /// hand under `#[rustfmt::skip]`.)
    first: [Option<El<'t>>; N],
}

impl<'t, const N: usize> Kids<'t, N> {
    /// Every element named `name`, in document order.
    fn all<'n>(&self, name: &'n str) -> impl Iterator<Item = El<'t>> + 'n
    where
        't: 'n,
    {
        self.el.children().filter(move |c| c.name() == name)
    }
}

struct Reader<'p> {
    p: &'p mut Problems,
}

impl Reader<'_> {
    /// Checks `el` as a sequence of `slots` with the attributes `attrs`: unknown, duplicated,
    /// out-of-order and missing elements are each reported once, at their own path; every
    /// known child is still returned so its content is checked too.
    fn seq<'t, const N: usize>(
        &mut self,
        el: El<'t>,
        attrs: &[&str],
        slots: &[(&'static str, Occ); N],
    ) -> Kids<'t, N> {
        self.attrs(el, attrs);
        // Indentation was found blank while parsing; only other text needs trimming.
        let text = if el.is_blank() { "" } else { el.text().trim() };
        if !text.is_empty() {
            let shown: String = text.chars().take(20).collect();
            self.p.error(
                el.path(),
                Message::XmlUnexpectedText {
                    text: shown,
                    element: el.name().to_owned(),
                },
            );
        }
        let mut kids = Kids {
            el,
            first: [None; N],
        };
        // How many children fill each slot so far.
        let mut filled = [0usize; N];
        let mut highest: Option<usize> = None;
        // Unknown children so far: only the first few are reported one by one.
        let mut unknown = 0usize;
        // Slot names are unique, so where a name is searched from does not change what is
        // found; children mostly come in order, so the search starts at the latest slot.
        debug_assert!(slots
            .iter()
            .enumerate()
            .all(|(i, (n, _))| slots[..i].iter().all(|(m, _)| m != n)));
        for child in el.children() {
            let from = highest.unwrap_or(0);
            let found = slots[from..]
                .iter()
                .position(|(n, _)| *n == child.name())
                .map(|i| i + from)
                .or_else(|| slots[..from].iter().position(|(n, _)| *n == child.name()));
            let Some(i) = found else {
                unknown += 1;
                if unknown > xml::MAX_REPORTED {
                    continue;
                }
                let expected: Vec<&str> = slots.iter().map(|(n, _)| *n).collect();
                self.p.error(
                    child.path(),
                    Message::XmlUnknownElement {
                        name: child.name().to_owned(),
                        parent: el.name().to_owned(),
                        expected: expected.join(", "),
                    },
                );
                continue;
            };
            let (name, occ) = slots[i];
            if matches!(occ, One | Opt) && filled[i] > 0 {
                self.p.error(
                    child.path(),
                    Message::XmlRepeated {
                        name: name.to_owned(),
                    },
                );
            }
            match highest {
                Some(h) if h > i => self.p.error(
                    child.path(),
                    Message::XmlOutOfOrder {
                        name: name.to_owned(),
                        before: slots[h].0.to_owned(),
                    },
                ),
                _ => highest = Some(i),
            }
            if filled[i] == 0 {
                kids.first[i] = Some(child);
            }
            filled[i] += 1;
        }
        if unknown > xml::MAX_REPORTED {
            self.p.error(
                el.path(),
                Message::XmlMoreUnknown {
                    count: unknown - xml::MAX_REPORTED,
                    parent: el.name().to_owned(),
                    reported: xml::MAX_REPORTED,
                },
            );
        }
        for (i, (name, occ)) in slots.iter().enumerate() {
            if matches!(occ, One | Many) && filled[i] == 0 {
                self.p.error(
                    format!("{}/{name}", el.path()),
                    Message::XmlMissingElement {
                        name: (*name).to_owned(),
                    },
                );
            }
        }
        kids
    }

    /// Reports attributes of `el` other than `allowed`. Always inlined: most elements have
    /// no attributes, and for them the call cost more than the check.
    #[inline(always)]
    fn attrs(&mut self, el: El, allowed: &[&str]) {
        if el.has_attrs() {
            self.unknown_attrs(el, allowed);
        }
    }

    /// Reports attributes of `el` (which has some) other than `allowed`.
    fn unknown_attrs(&mut self, el: El, allowed: &[&str]) {
        for (name, _) in el.attrs() {
            if !allowed.contains(&name) {
                self.p.error(
                    format!("{}/@{name}", el.path()),
                    Message::XmlUnknownAttribute {
                        name: name.to_owned(),
                        element: el.name().to_owned(),
                    },
                );
            }
        }
    }

    /// The text of a leaf element (attributes `attrs` allowed, no child elements).
    fn leaf<'t>(&mut self, el: El<'t>, attrs: &[&str]) -> &'t str {
        self.attrs(el, attrs);
        for child in el.children().take(xml::MAX_REPORTED) {
            self.p.error(
                child.path(),
                Message::XmlElementInText {
                    name: child.name().to_owned(),
                    parent: el.name().to_owned(),
                },
            );
        }
        el.text()
    }

    /// Free text, kept exactly; must not be blank.
    fn text(&mut self, el: Option<El>) -> Option<String> {
        let el = el?;
        let t = self.leaf(el, &[]);
        if blank(t) {
            self.p.error(
                el.path(),
                Message::XmlEmpty {
                    name: el.name().to_owned(),
                },
            );
            return None;
        }
        Some(t.to_owned())
    }

    /// Optional free text, kept exactly; an empty element is the same as an absent one.
    fn opt_text(&mut self, el: Option<El>) -> Option<String> {
        let el = el?;
        let t = self.leaf(el, &[]);
        (!blank(t)).then(|| t.to_owned())
    }

    /// A value with a lexical form: trimmed, must not be empty, then parsed by `f`.
    fn value<T>(
        &mut self,
        el: Option<El>,
        f: impl FnOnce(&str) -> Result<T, Invalid>,
    ) -> Option<T> {
        let el = el?;
        let t = trim(self.leaf(el, &[]));
        if t.is_empty() {
            self.p.error(
                el.path(),
                Message::XmlEmpty {
                    name: el.name().to_owned(),
                },
            );
            return None;
        }
        self.p.check(|| el.path(), f(t))
    }

    /// A required attribute, trimmed and parsed by `f`.
    fn attr<T>(
        &mut self,
        el: El,
        name: &str,
        f: impl FnOnce(&str) -> Result<T, Invalid>,
    ) -> Option<T> {
        let path = || format!("{}/@{name}", el.path());
        match el.attr(name) {
            None => {
                self.p.error(
                    path(),
                    Message::XmlMissingAttribute {
                        name: name.to_owned(),
                        element: el.name().to_owned(),
                    },
                );
                None
            }
            Some(v) => self.p.check(path, f(trim(v))),
        }
    }

    /// An element whose `code` attribute is the value and whose text is the code's name;
    /// a name that disagrees with the table is a warning (the code wins).
    fn coded<K: Kind>(&mut self, el: Option<El>) -> Option<Code<K>> {
        let el = el?;
        let name = trim(self.leaf(el, &["code"]));
        let code = self.attr(el, "code", code::<K>)?;
        if !name.is_empty() && name != code.name() {
            self.p.warn(
                el.path(),
                Message::CodeNameMismatch {
                    table: TableName::of::<K>(),
                    name: name.to_owned(),
                    code: code.sh().to_owned(),
                    expected: code.name().to_owned(),
                },
            );
        }
        Some(code)
    }

    fn application(&mut self, root: El) -> Option<Application> {
        let k = self.seq(
            root,
            &[],
            &[
                ("ApplyNo", One),
                ("ItemCode", One),
                ("Applicant", One),
                ("Operator", One),
                ("Premises", One),
                ("FoodBusiness", Opt),
                ("BusinessScope", Opt),
                ("Materials", One),
                ("Acceptance", One),
                ("Target", One),
                ("Contact", Opt),
                ("Remark", Opt),
                ("Extensions", Opt),
            ],
        );
        #[rustfmt::skip]
        let [
            apply_no_el,
            item_code_el,
            applicant_el,
            operator_el,
            premises_el,
            food_business_el,
            business_scope_el,
            materials_el,
            acceptance_el,
            target_el,
            contact_el,
            remark_el,
            extensions_el,
        ] = k.first;
        let mut facts = ApplicationFacts::default();
        let number = self.value(apply_no_el, ApplicationNo::parse);
        let item = self.value(item_code_el, code::<Item>);
        facts.item = item;
        let applicant = applicant_el.and_then(|e| self.applicant(e));
        let operator = operator_el.and_then(|e| self.operator(e, &mut facts));
        let premises = premises_el.and_then(|e| self.premises(e, &mut facts));
        facts.has_food = food_business_el.is_some();
        let food = food_business_el.map(|e| self.food(e));
        facts.has_scope = business_scope_el.is_some();
        let scope = business_scope_el.map(|e| self.text(Some(e)));
        let materials = materials_el.and_then(|e| self.materials(e));
        let acceptance = acceptance_el.and_then(|e| self.acceptance(e));
        let target = target_el.and_then(|e| self.target(e, &mut facts));
        let contact = contact_el.map(|e| self.contact(e));
        let remark = self.opt_text(remark_el);
        let extensions = extensions_el.and_then(|e| self.extensions(e));
        rules::application(&facts, self.p, |f| super::field_path(f).to_owned());
        Some(Application {
            number: number?,
            item: item?,
            applicant: applicant?,
            operator: operator?,
            premises: premises?,
            food: food.map_or(Some(None), |f| f.map(Some))?,
            business_scope: scope.map_or(Some(None), |s| s.map(Some))?,
            materials: materials?,
            acceptance: acceptance?,
            target: target?,
            contact: contact.map_or(Some(None), |c| c.map(Some))?,
            remark,
            extensions: extensions.unwrap_or_default(),
        })
    }

    /// `IdType` and `IdNumber` of a person; the number is checked as its type requires.
    fn id_document(&mut self, id_type: Option<El>, id_number: Option<El>) -> Option<IdDocument> {
        let kind = self.value(id_type, code::<IdType>);
        match kind {
            Some(kind) => self.value(id_number, |s| IdDocument::parse(kind, s)),
            None => {
                // Without a type the number cannot be checked; still look at its shape.
                if let Some(e) = id_number {
                    self.leaf(e, &[]);
                }
                None
            }
        }
    }

    fn applicant(&mut self, el: El) -> Option<Applicant> {
        let k = self.seq(
            el,
            &[],
            &[
                ("Name", One),
                ("IdType", One),
                ("IdNumber", One),
                ("Mobile", One),
            ],
        );
        let [name_el, id_type_el, id_number_el, mobile_el] = k.first;
        let name = self.text(name_el);
        let id = self.id_document(id_type_el, id_number_el);
        let mobile = self.value(mobile_el, mobile);
        Some(Applicant {
            name: name?,
            id: id?,
            mobile: mobile?,
        })
    }

    fn person(&mut self, el: El) -> Option<Person> {
        let k = self.seq(
            el,
            &[],
            &[("Name", One), ("IdType", One), ("IdNumber", One)],
        );
        let [name_el, id_type_el, id_number_el] = k.first;
        let name = self.text(name_el);
        let id = self.id_document(id_type_el, id_number_el);
        Some(Person {
            name: name?,
            id: id?,
        })
    }

    fn operator(&mut self, el: El, facts: &mut ApplicationFacts) -> Option<Operator> {
        let k = self.seq(
            el,
            &[],
            &[
                ("Name", One),
                ("Uscc", Opt),
                ("EntityType", One),
                ("LegalRep", One),
                ("RegisteredCapital", Opt),
                ("Residence", One),
            ],
        );
        #[rustfmt::skip]
        let [
            name_el,
            uscc_el,
            entity_type_el,
            legal_rep_el,
            registered_capital_el,
            residence_el,
        ] = k.first;
        let name = self.text(name_el);
        facts.has_uscc = uscc_el.is_some();
        let uscc = match uscc_el {
            None => Some(None),
            Some(e) => self.value(Some(e), Uscc::parse).map(Some),
        };
        let entity_type = self.value(entity_type_el, code::<EntityType>);
        facts.entity_type = entity_type;
        let legal_rep = legal_rep_el.and_then(|e| self.person(e));
        let capital = match registered_capital_el {
            None => Some(None),
            Some(e) => {
                let amount = trim(self.leaf(e, &["currency"]));
                let currency = self.attr(e, "currency", |c| {
                    if c == "CNY" {
                        Ok(())
                    } else {
                        Err(Invalid(Message::CurrencyNotCny {
                            value: c.to_owned(),
                        }))
                    }
                });
                let fen = self.p.check(|| e.path(), yuan(amount));
                currency.and(fen).map(Some)
            }
        };
        let residence = self.text(residence_el);
        Some(Operator {
            name: name?,
            uscc: uscc?,
            entity_type: entity_type?,
            legal_rep: legal_rep?,
            registered_capital: capital?,
            residence: residence?,
        })
    }

    fn premises(&mut self, el: El, facts: &mut ApplicationFacts) -> Option<Premises> {
        let k = self.seq(
            el,
            &[],
            &[("DivisionCode", One), ("Address", One), ("Area", One)],
        );
        let [division_code_el, address_el, area_el] = k.first;
        let division = self.value(division_code_el, DivisionCode::parse);
        facts.premises = division;
        let address = self.text(address_el);
        let area = self.value(area_el, |s| {
            two_decimals(s, "m²", "45.50").map(CentiSquareMetres)
        });
        Some(Premises {
            division: division?,
            address: address?,
            area: area?,
        })
    }

    fn food(&mut self, el: El) -> Option<FoodBusiness> {
        let k = self.seq(
            el,
            &[],
            &[
                ("MainFormat", One),
                ("FormatNote", Opt),
                ("Items", One),
                ("SafetyManager", One),
                ("OnlineSales", One),
            ],
        );
        #[rustfmt::skip]
        let [
            main_format_el,
            format_note_el,
            items_el,
            safety_manager_el,
            online_sales_el,
        ] = k.first;
        let main_format = self.coded::<MainFormat>(main_format_el);
        let format_note = self.opt_text(format_note_el);
        let items = items_el.and_then(|e| {
            let k = self.seq(e, &[], &[("Item", Many)]);
            let mut ok = true;
            let mut codes: Vec<Code<FoodItem>> = Vec::new();
            for i in k.all("Item") {
                match self.coded::<FoodItem>(Some(i)) {
                    // A set, as Zhejiang's `jyxm` is: an item listed twice is refused on
                    // both sides (the fuzzing harness found Shanghai accepting it).
                    Some(c) if codes.contains(&c) => {
                        self.p.error(
                            format!("{}/@code", i.path()),
                            Message::ListedTwice {
                                value: c.sh().to_owned(),
                            },
                        );
                        ok = false;
                    }
                    Some(c) => codes.push(c),
                    None => ok = false,
                }
            }
            (ok && !codes.is_empty()).then_some(codes)
        });
        let manager = safety_manager_el.and_then(|e| {
            let k = self.seq(e, &[], &[("Name", One), ("IdNumber", One), ("Mobile", One)]);
            let [name_el, id_number_el, mobile_el] = k.first;
            let name = self.text(name_el);
            let id = self.value(id_number_el, ResidentId::parse);
            let mobile = self.value(mobile_el, mobile);
            Some(SafetyManager {
                name: name?,
                id_number: id?,
                mobile: mobile?,
            })
        });
        let online = self.value(online_sales_el, boolean);
        Some(FoodBusiness {
            main_format: main_format?,
            format_note,
            items: items?,
            safety_manager: manager?,
            online_sales: online?,
        })
    }

    fn materials(&mut self, el: El) -> Option<Vec<Material>> {
        let k = self.seq(el, &[], &[("Material", Many)]);
        if let Some(past) = k.all("Material").nth(limits::MAX_MATERIALS) {
            self.p.error(
                past.path(),
                Message::TooManyMaterials {
                    max: limits::MAX_MATERIALS,
                },
            );
            return None;
        }
        all_or_none(k.all("Material").map(|m| self.material(m))).filter(|v| !v.is_empty())
    }

    fn material(&mut self, el: El) -> Option<Material> {
        let k = self.seq(
            el,
            &["code"],
            &[
                ("Title", One),
                ("FileName", One),
                ("MimeType", One),
                ("Digest", One),
                ("Content", One),
            ],
        );
        let [title_el, file @ ..] = k.first;
        let code = self.attr(el, "code", code::<MaterialCode>);
        let title = self.text(title_el);
        let file = self.file(el, file, true);
        Some(Material {
            code: code?,
            title: title?,
            file: file?,
        })
    }

    /// `FileName`, `MimeType`, `Digest`, `Content` of a material or licence file; the digest
    /// must be that of the content. `algorithm` is required on materials (the table says so)
    /// and optional on the licence file (the sample omits it); either way only SHA-256.
    fn file(
        &mut self,
        el: El,
        [name_el, mime_type_el, digest_el, content_el]: [Option<El>; 4],
        algorithm_required: bool,
    ) -> Option<File> {
        let name = self.text(name_el);
        let mime_type = self.value(mime_type_el, crate::model::text::mime_type);
        let claimed = digest_el.and_then(|e| {
            let text = trim(self.leaf(e, &["algorithm"]));
            let alg_ok = match e.attr("algorithm") {
                None if algorithm_required => {
                    self.p.error(
                        format!("{}/@algorithm", e.path()),
                        Message::DigestAlgorithmMissing,
                    );
                    false
                }
                None => true,
                Some(a) if trim(a) == "SHA-256" => true,
                Some(a) => {
                    self.p.error(
                        format!("{}/@algorithm", e.path()),
                        Message::DigestAlgorithm {
                            value: a.to_owned(),
                        },
                    );
                    false
                }
            };
            let digest = self.p.check(|| e.path(), digest(text));
            digest.filter(|_| alg_ok)
        });
        let content = content_el.and_then(|e| {
            let text = self.leaf(e, &[]);
            self.p.check(|| e.path(), Base64Content::parse(text))
        });
        let (content, actual) = content?;
        let claimed = claimed?;
        self.p.check(
            || format!("{}/Digest", el.path()),
            rules::digest_matches(&claimed, &actual),
        )?;
        Some(File {
            name: name?,
            mime_type: mime_type?,
            sha256: claimed,
            content,
        })
    }

    fn acceptance(&mut self, el: El) -> Option<Acceptance> {
        let k = self.seq(
            el,
            &[],
            &[("Office", One), ("Clerk", One), ("AcceptedAt", One)],
        );
        let [office_el, clerk_el, accepted_at_el] = k.first;
        let office = office_el.and_then(|e| {
            let name = self.leaf(e, &["uscc"]);
            let uscc = self.attr(e, "uscc", Uscc::parse);
            if blank(name) {
                self.p.error(e.path(), Message::OfficeUnnamed);
                return None;
            }
            Some((name.to_owned(), uscc?))
        });
        let clerk = self.text(clerk_el);
        let at = self.value(accepted_at_el, time);
        let (office, office_uscc) = office?;
        Some(Acceptance {
            office,
            office_uscc,
            clerk: clerk?,
            accepted_at: at?,
        })
    }

    fn target(&mut self, el: El, facts: &mut ApplicationFacts) -> Option<Target> {
        self.seq(el, &["region", "authority"], &[]);
        let region = self.attr(el, "region", DivisionCode::parse);
        facts.target = region;
        let authority = match el.attr("authority") {
            Some(a) if !blank(a) => Some(a.to_owned()),
            Some(_) => {
                self.p
                    .error(format!("{}/@authority", el.path()), Message::AuthorityEmpty);
                None
            }
            None => {
                self.p.error(
                    format!("{}/@authority", el.path()),
                    Message::XmlMissingAttribute {
                        name: "authority".to_owned(),
                        element: "Target".to_owned(),
                    },
                );
                None
            }
        };
        Some(Target {
            region: region?,
            authority: authority?,
        })
    }

    fn contact(&mut self, el: El) -> Option<Contact> {
        let k = self.seq(el, &[], &[("Name", One), ("Mobile", One)]);
        let [name_el, mobile_el] = k.first;
        let name = self.text(name_el);
        let mobile = self.value(mobile_el, mobile);
        Some(Contact {
            name: name?,
            mobile: mobile?,
        })
    }

    fn extensions(&mut self, el: El) -> Option<Extensions> {
        let k = self.seq(el, &[], &[("Field", Any)]);
        let mut map = Extensions::new();
        let mut ok = true;
        let mut budget = ExtensionBudget::default();
        for f in k.all("Field") {
            if budget.is_spent() {
                break;
            }
            let value = self.leaf(f, &["name"]);
            // A name is kept exactly, as free text is: trimmed, ` a` and `a` would be one.
            let name = match f.attr("name") {
                Some(n) if !n.is_empty() => Some(n.to_owned()),
                given => {
                    let what = if given.is_some() {
                        Message::FieldNameless
                    } else {
                        Message::XmlMissingAttribute {
                            name: "name".to_owned(),
                            element: "Field".to_owned(),
                        }
                    };
                    self.p.error(format!("{}/@name", f.path()), what);
                    None
                }
            };
            let Some(name) = name else {
                ok = false;
                continue;
            };
            if map.contains_key(&name) {
                self.p.error(
                    format!("{}/@name", f.path()),
                    Message::FieldRepeated { name: name.clone() },
                );
                ok = false;
                continue;
            }
            if crate::platform::zhejiang::defines(&name) {
                self.p.error(
                    format!("{}/@name", f.path()),
                    Message::FieldReserved { name: name.clone() },
                );
                ok = false;
                continue;
            }
            if let Err(message) = budget.take(name.len() + value.len()) {
                self.p.error(f.path(), message);
                ok = false;
                continue;
            }
            map.insert(name, value.to_owned());
        }
        ok.then_some(map)
    }

    fn decision(&mut self, root: El) -> Option<Decision> {
        let k = self.seq(
            root,
            &[],
            &[
                ("ApplyNo", One),
                ("Result", One),
                ("Opinion", One),
                ("Officer", One),
                ("DecidedAt", One),
                ("License", Opt),
            ],
        );
        let [apply_no_el, result_el, opinion_el, officer_el, decided_at_el, license_el] = k.first;
        let mut facts = DecisionFacts::default();
        let number = self.value(apply_no_el, ApplicationNo::parse);
        let result = result_el.and_then(|e| {
            let note = self.leaf(e, &["code"]);
            let outcome = self.attr(e, "code", |c| match c {
                "GRANTED" => Ok(Outcome::Granted),
                "REFUSED" => Ok(Outcome::Refused),
                "CORRECTION" => Ok(Outcome::Correction),
                _ => Err(Invalid(Message::ResultShanghai {
                    value: c.to_owned(),
                })),
            })?;
            let note = (!blank(note)).then(|| note.to_owned());
            Some((outcome, note))
        });
        facts.outcome = result.as_ref().map(|(o, _)| *o);
        let opinion = self.text(opinion_el);
        let officer = self.text(officer_el);
        let decided_at = self.value(decided_at_el, time);
        facts.has_licence = license_el.is_some();
        let licence = license_el.map(|e| self.licence(e, &mut facts));
        rules::decision(&facts, self.p, |f| {
            match f {
                Field::LicenceValidTo => "/RemoteDecision/License/ValidTo",
                Field::LicenceNumber => "/RemoteDecision/License/LicenseNo",
                _ => "/RemoteDecision/License",
            }
            .to_owned()
        });
        let (outcome, outcome_note) = result?;
        Some(Decision {
            number: number?,
            outcome,
            outcome_note,
            opinion: opinion?,
            officer: officer?,
            decided_at: decided_at?,
            licence: licence.map_or(Some(None), |l| l.map(Some))?,
            extensions: Extensions::new(),
        })
    }

    fn licence(&mut self, el: El, facts: &mut DecisionFacts) -> Option<Licence> {
        let k = self.seq(
            el,
            &[],
            &[
                ("LicenseNo", One),
                ("LicenseName", One),
                ("ValidFrom", One),
                ("ValidTo", One),
                ("IssuedBy", One),
                ("IssuedOn", One),
                ("Uscc", Opt),
                ("File", One),
            ],
        );
        #[rustfmt::skip]
        let [
            license_no_el,
            license_name_el,
            valid_from_el,
            valid_to_el,
            issued_by_el,
            issued_on_el,
            uscc_el,
            file_el,
        ] = k.first;
        let number = self.value(license_no_el, |s| Ok::<_, Invalid>(s.to_owned()));
        if let (Some(n), Some(e)) = (&number, license_no_el) {
            rules::licence_number(n, self.p, || e.path());
        }
        let name = self.text(license_name_el);
        let from = self.value(valid_from_el, date);
        let to = self.value(valid_to_el, date);
        if let (Some(f), Some(t)) = (from, to) {
            facts.validity = Some((f, t));
        }
        let issued_by = self.text(issued_by_el);
        let issued_on = self.value(issued_on_el, date);
        let uscc = match uscc_el {
            None => Some(None),
            Some(e) => self.value(Some(e), Uscc::parse).map(Some),
        };
        let file = file_el.and_then(|e| {
            let fk = self.seq(
                e,
                &[],
                &[
                    ("FileName", One),
                    ("MimeType", One),
                    ("Digest", One),
                    ("Content", One),
                ],
            );
            self.file(e, fk.first, false)
        });
        Some(Licence {
            number: number?,
            name: name?,
            valid_from: from?,
            valid_to: to?,
            issued_by: issued_by?,
            issued_on: issued_on?,
            uscc: uscc?,
            file: file?,
        })
    }
}

/// Every item when none is `None`. Unlike collecting into an `Option`, every item is
/// produced (and so checked, its problems reported) even after a `None`.
fn all_or_none<T>(items: impl Iterator<Item = Option<T>>) -> Option<Vec<T>> {
    let mut all = Vec::new();
    let mut complete = true;
    for item in items {
        match item {
            Some(v) => all.push(v),
            None => complete = false,
        }
    }
    complete.then_some(all)
}

/// `s.trim()`, without looking at characters when `s` starts and ends with a visible ASCII
/// character, as most values do.
fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(a), Some(z)) if a.is_ascii_graphic() && z.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// Whether `s` is empty or white space only (`s.trim().is_empty()`, stopping at the first
/// other character).
fn blank(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
}

/// A code in Shanghai's column of table `K`.
fn code<K: Kind>(s: &str) -> Result<Code<K>, Invalid> {
    if let Some(c) = Code::<K>::from_sh(s) {
        return Ok(c);
    }
    if let Some(c) = Code::<K>::from_zj(s) {
        return Err(Invalid(Message::CodeZhejiangSpelling {
            table: TableName::of::<K>(),
            value: s.to_owned(),
            name: c.name().to_owned(),
            shanghai: c.sh().to_owned(),
        }));
    }
    Err(Invalid(Message::CodeUnknown {
        table: TableName::of::<K>(),
        value: s.to_owned(),
        expected: Code::<K>::spellings(|r| r.sh),
    }))
}

/// The refusal `m`.
fn refuse<T>(m: Message) -> Result<T, Invalid> {
    Err(Invalid(m))
}

/// True when `s` has the shape of `pattern`, where `9` stands for an ASCII digit.
fn shaped(s: &str, pattern: &str) -> bool {
    s.len() == pattern.len()
        && s.bytes().zip(pattern.bytes()).all(|(c, p)| {
            if p == b'9' {
                c.is_ascii_digit()
            } else {
                c == p
            }
        })
}

fn two(s: &str, at: usize) -> u32 {
    s[at..at + 2].parse().unwrap_or(u32::MAX)
}

/// `yyyy-MM-dd`.
pub(super) fn date(s: &str) -> Result<Date, Invalid> {
    if !shaped(s, "9999-99-99") {
        return refuse(Message::DateShape {
            value: s.to_owned(),
        });
    }
    let year: i32 = s[..4].parse().unwrap_or(0);
    NaiveDate::from_ymd_opt(year, two(s, 5), two(s, 8)).ok_or_else(|| {
        Invalid(Message::DateNotCalendar {
            value: s.to_owned(),
        })
    })
}

/// The widest offset a time may have: 18 hours either side, the bound of the ledger's times
/// (`ledger::entry::MAX_OFFSET_MINUTES`), which records the document's time with its offset.
/// Every zone in use is within 14 hours.
const MAX_OFFSET_SECONDS: i32 = 18 * 3600;

/// ISO 8601 with an offset: `2026-11-23T10:15:00+08:00`, `…Z`, `…+09:00`, at most 18 hours
/// either side. A zero fraction of a second is accepted; a non-zero one is refused because
/// Zhejiang's times cannot carry it and silently dropping it would change the instant.
pub(super) fn time(s: &str) -> Result<Instant, Invalid> {
    let shape_hint = || {
        Invalid(Message::TimeShanghai {
            value: s.to_owned(),
        })
    };
    if s.len() < 19 || !s.is_char_boundary(19) || !shaped(&s[..19], "9999-99-99T99:99:99") {
        return Err(shape_hint());
    }
    let day = date(&s[..10])?;
    let clock = NaiveTime::from_hms_opt(two(s, 11), two(s, 14), two(s, 17)).ok_or_else(|| {
        Invalid(Message::TimeOfDay {
            value: s.to_owned(),
        })
    })?;
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err(shape_hint());
        }
        if r[..n].bytes().any(|b| b != b'0') {
            return refuse(Message::TimeFraction {
                value: s.to_owned(),
            });
        }
        rest = &r[n..];
    }
    let offset_seconds = match rest {
        "" => {
            return refuse(Message::TimeNoOffset {
                value: s.to_owned(),
            })
        }
        "Z" => 0,
        o if (o.starts_with('+') || o.starts_with('-')) && shaped(&o[1..], "99:99") => {
            let (h, m) = (two(o, 1), two(o, 4));
            if h > 23 || m > 59 {
                return refuse(Message::TimeOffsetImpossible {
                    value: s.to_owned(),
                    offset: o.to_owned(),
                });
            }
            let secs = (h * 3600 + m * 60) as i32;
            if secs > MAX_OFFSET_SECONDS {
                return refuse(Message::TimeOffsetTooWide {
                    value: s.to_owned(),
                    offset: o.to_owned(),
                });
            }
            if o.starts_with('-') {
                -secs
            } else {
                secs
            }
        }
        o => {
            return refuse(Message::TimeOffsetUnreadable {
                value: s.to_owned(),
                offset: o.to_owned(),
            })
        }
    };
    let offset = FixedOffset::east_opt(offset_seconds).ok_or_else(shape_hint)?;
    offset
        .from_local_datetime(&day.and_time(clock))
        .single()
        .ok_or_else(shape_hint)
}

/// `true` or `false`, as the document says (not `1`/`0`).
pub(super) fn boolean(s: &str) -> Result<bool, Invalid> {
    match s {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => refuse(Message::BooleanShanghai {
            value: s.to_owned(),
        }),
    }
}

/// A decimal with exactly two fraction digits, as an integer count of hundredths. More
/// digits are refused, never rounded.
fn two_decimals(s: &str, unit: &'static str, example: &'static str) -> Result<u64, Invalid> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if digits(int) && digits(frac) && frac.len() > 2 {
        return refuse(Message::TwoDecimalsTooFine {
            value: s.to_owned(),
            digits: frac.len(),
            unit,
        });
    }
    if !(digits(int) && frac.len() == 2 && digits(frac)) {
        return refuse(Message::TwoDecimalsShape {
            value: s.to_owned(),
            unit,
            example,
        });
    }
    parse_fixed(s, 2, unit)
}

/// 元 with exactly 2 fraction digits, into fen.
pub(super) fn yuan(s: &str) -> Result<Fen, Invalid> {
    two_decimals(s, "元", "500000.00").map(Fen)
}

/// A mobile number as Shanghai senders write it (`+86 138-1234-5678`): the country code,
/// spaces and dashes are dropped, then the 11 digits are checked.
pub(super) fn mobile(s: &str) -> Result<Mobile, Invalid> {
    let rest = s.strip_prefix("+86").unwrap_or(s);
    if !rest.contains([' ', '-']) {
        return Mobile::parse(rest);
    }
    let digits: String = rest.chars().filter(|c| *c != ' ' && *c != '-').collect();
    Mobile::parse(&digits)
}

/// A base64 SHA-256 digest.
pub(super) fn digest(s: &str) -> Result<Sha256Digest, Invalid> {
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return refuse(Message::DigestLooksHex {
            value: s.to_owned(),
        });
    }
    let base64 = base64::engine::general_purpose::STANDARD;
    let invalid = |e: base64::DecodeError| {
        Invalid(Message::DigestBase64 {
            detail: e.to_string(),
        })
    };
    // Up to 64 characters (a digest has 44) decode into a buffer on the stack, large enough
    // for all they can hold; longer text is decoded as a whole, to tell how long it is.
    let mut buf = [0u8; 48];
    let whole: Vec<u8>;
    let bytes = match (s.len() <= 64).then(|| base64.decode_slice(s, &mut buf)) {
        Some(Ok(len)) => &buf[..len],
        Some(Err(DecodeSliceError::DecodeError(e))) => return Err(invalid(e)),
        Some(Err(DecodeSliceError::OutputSliceTooSmall)) | None => {
            whole = base64.decode(s).map_err(invalid)?;
            &whole[..]
        }
    };
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| Invalid(Message::DigestLength { got: bytes.len() }))?;
    Ok(Sha256Digest(bytes))
}
