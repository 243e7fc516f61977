//! Zhejiang's JSON interface (浙江政务服务一体化平台 · 跨省通办 接口 v2).
//!
//! Its conventions, all held here: pinyin-initial field names; local Beijing time without an
//! offset (`yyyy-MM-dd HH:mm:ss`); booleans `"1"`/`"0"`; money as 万元 strings with up to 6
//! decimals and no trailing zeros; areas with 2 decimals; lowercase hex SHA-256 digests;
//! unknown fields tolerated (within [`crate::model::limits`]) — carried on as `~zj:<path>`
//! extensions so they survive a trip through Shanghai's format and back; `kzxx` for what
//! the other side has and Zhejiang lacks, its names carried as they are; replies
//! `{code,msg,data}` with HTTP 200 even on failure.

mod tree;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::Bound;

use chrono::{Datelike, NaiveDateTime, TimeZone, Timelike};

use super::{Read, Reply, Written};
use crate::codes::{self, Code, Kind};
use crate::model::limits::{self, ExtensionBudget};
use crate::model::message::{JsonType, Lang, Message, TableName};
use crate::model::rules::{self, ApplicationFacts, DecisionFacts, Field};
use crate::model::text;
use crate::model::{
    beijing, format_fixed, parse_fixed, Acceptance, Applicant, Application, ApplicationNo,
    Base64Content, CentiSquareMetres, Contact, Date, Decision, Document, Extensions, Fen, File,
    FoodBusiness, IdDocument, Instant, Invalid, Licence, Material, Mobile, Operator, Outcome,
    Person, Premises, Problems, ResidentId, SafetyManager, Sha256Digest, Target, Uscc,
};
use tree::Json;

/// `Content-Type` of Zhejiang's bodies.
pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";
/// Where Zhejiang's platform (and the gateway, as its counterpart) receives applications.
pub const APPLY_PATH: &str = "/api/kstb/v2/sqxx";
/// Where decisions are received.
pub const DECISION_PATH: &str = "/api/kstb/v2/spjg";

/// Prefix of extension keys that hold Zhejiang fields Shanghai's format lacks: the
/// gateway's own (see [`crate::model::Extensions`] for why it starts with `~`).
const OWN_PREFIX: &str = "~zj:";
/// Extension key holding the text of Shanghai's `Result` element, which Zhejiang lacks.
const RESULT_NOTE_KEY: &str = "~sh:Result";
/// Decimal places of 万元 that one fen needs (1 fen = 0.000001 万元).
const WAN_YUAN_SCALE: u32 = 6;
/// Reads an application (has `sxbm`) or a decision (has `jg`).
pub fn read(bytes: &[u8]) -> Result<Read, Problems> {
    let mut problems = Problems::new();
    let root = match tree::parse(bytes) {
        Ok(json) if json.too_deep("", limits::MAX_JSON_DEPTH - 1).is_some() => {
            let at = json
                .too_deep("", limits::MAX_JSON_DEPTH - 1)
                .unwrap_or_default();
            problems.error(
                at,
                Message::JsonTooDeep {
                    max: limits::MAX_JSON_DEPTH,
                },
            );
            return Err(problems);
        }
        Ok(Json::Object(fields)) => fields,
        Ok(other) => {
            problems.error("$", Message::JsonNotObject { got: other.kind() });
            return Err(problems);
        }
        // An object of more fields than the interface's own and the limit of unknown ones
        // (or an array of more items) would be refused by the limit or as a duplicate
        // anyway: parsing stops there, before the rest is built.
        Err(e) if e.to_string().starts_with(tree::TOO_MANY) => {
            let text = e.to_string();
            let path = text[tree::TOO_MANY.len()..]
                .split('\0')
                .next()
                .unwrap_or_default();
            problems.error(
                path,
                Message::JsonTooManyFields {
                    max: MAX_FIELDS,
                    max_extensions: limits::MAX_EXTENSIONS,
                },
            );
            return Err(problems);
        }
        Err(e) => {
            problems.error(
                "$",
                Message::JsonInvalid {
                    detail: e.to_string(),
                },
            );
            return Err(problems);
        }
    };
    let mut r = Reader {
        problems,
        extensions: Extensions::new(),
        budget: ExtensionBudget::default(),
        duplicates: 0,
    };
    let is_decision = root.iter().any(|(k, _)| k == "jg") && !root.iter().any(|(k, _)| k == "sxbm");
    let document = if is_decision {
        r.decision(Obj::new(String::new(), &root))
            .map(|d| Document::Decision(Box::new(d)))
    } else {
        r.application(Obj::new(String::new(), &root))
            .map(|a| Document::Application(Box::new(a)))
    };
    match document {
        Some(document) if !r.problems.has_errors() => Ok(Read {
            document,
            warnings: r.problems,
        }),
        _ => Err(r.problems),
    }
}

/// An object being read: its path and which fields were consumed.
struct Obj<'a, 'j> {
    path: String,
    fields: &'a [(Cow<'j, str>, Json<'j>)],
    used: Vec<bool>,
}

impl<'a, 'j> Obj<'a, 'j> {
    fn new(path: String, fields: &'a [(Cow<'j, str>, Json<'j>)]) -> Self {
        let used = vec![false; fields.len()];
        Obj { path, fields, used }
    }
    /// The path of the field `key` of this object (`jyz.fddbr.xm`).
    fn at(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            let mut path = String::with_capacity(self.path.len() + 1 + key.len());
            path.push_str(&self.path);
            path.push('.');
            path.push_str(key);
            path
        }
    }
    fn take(&mut self, key: &str) -> Option<&'a Json<'j>> {
        let i = self.fields.iter().position(|(k, _)| k == key)?;
        self.used[i] = true;
        Some(&self.fields[i].1)
    }
    fn has(&self, key: &str) -> bool {
        self.fields
            .iter()
            .any(|(k, v)| k == key && *v != Json::Null)
    }
}

struct Reader {
    problems: Problems,
    extensions: Extensions,
    /// What the extensions hold so far, against [`limits`].
    budget: ExtensionBudget,
    /// Fields found given twice so far.
    duplicates: usize,
}

/// Most fields of one object (or items of one array) read: the interface's own for the
/// object (at most [`SMALL_OBJECT`]) and [`limits::MAX_EXTENSIONS`] unknown ones.
const MAX_FIELDS: usize = SMALL_OBJECT + limits::MAX_EXTENSIONS;

/// Duplicated fields reported one by one before the rest of the document is no longer
/// looked at for them (it is refused either way).
const MAX_DUPLICATES_REPORTED: usize = 20;

/// Most fields of any object of the interface (the root of an application has 14): up to
/// this many, duplicates are looked for by comparing, beyond it with a hash set.
const SMALL_OBJECT: usize = 16;

impl Reader {
    fn error(&mut self, path: String, message: Message) {
        self.problems.error(path, message);
    }

    /// `result`'s value, or its error reported at `path` (built only then).
    fn check<T>(&mut self, path: impl FnOnce() -> String, result: Result<T, Invalid>) -> Option<T> {
        self.problems.check(path, result)
    }

    /// Ends an object: duplicates are refused, unknown fields carried as `~zj:` extensions
    /// (within [`limits`]). Linear in the fields: duplicates are found with a hash set once
    /// an object has more fields than the interface gives any object.
    fn finish(&mut self, o: Obj) {
        let mut seen =
            (o.fields.len() > SMALL_OBJECT).then(|| HashSet::with_capacity(o.fields.len()));
        for (i, (key, value)) in o.fields.iter().enumerate() {
            // Past a limit, or after a few duplicates, the document is refused already:
            // what the rest of a hostile object holds changes nothing, and is not hashed.
            if self.budget.is_spent() || self.duplicates > MAX_DUPLICATES_REPORTED {
                break;
            }
            let repeated = match &mut seen {
                Some(seen) => !seen.insert(key.as_ref()),
                None => o.fields[..i].iter().any(|(k, _)| k == key),
            };
            if repeated {
                self.duplicates += 1;
                self.error(o.at(key), Message::Duplicate);
            } else if !o.used[i] && !self.budget.is_spent() {
                let mut own =
                    String::with_capacity(OWN_PREFIX.len() + o.path.len() + key.len() + 1);
                own.push_str(OWN_PREFIX);
                if !o.path.is_empty() {
                    own.push_str(&o.path);
                    own.push('.');
                }
                escape_name(key, &mut own);
                self.carry(o.at(key), own, extension_text(value));
            }
        }
    }

    /// Keeps one extension entry, unless it passes the bounds of [`limits`] (then the
    /// refusal names the field at `path` where they were passed).
    fn carry(&mut self, path: String, key: String, value: String) {
        if key.is_empty() {
            self.error(path, Message::ExtensionNameless);
            return;
        }
        if let Err(e) = text::check_chars(&key).and_then(|()| text::check_chars(&value)) {
            self.error(path, e.0);
            return;
        }
        match self.budget.take(key.len() + value.len()) {
            Ok(true) => {
                self.extensions.insert(key, value);
            }
            Ok(false) => {}
            Err(message) => self.error(path, message),
        }
    }

    /// A field of the type `pick` accepts; `None` (with a problem if `required`) when absent
    /// or null, and with a problem naming the expected type when of another type.
    fn typed<'a, 'j, T>(
        &mut self,
        o: &mut Obj<'a, 'j>,
        key: &str,
        required: bool,
        expected: JsonType,
        pick: impl FnOnce(&'a Json<'j>) -> Option<T>,
    ) -> Option<T> {
        match o.take(key) {
            None | Some(Json::Null) => {
                if required {
                    self.error(o.at(key), Message::Required);
                }
                None
            }
            Some(v) => {
                let t = pick(v);
                if t.is_none() {
                    self.error(
                        o.at(key),
                        Message::WrongType {
                            expected,
                            got: v.kind(),
                        },
                    );
                }
                t
            }
        }
    }

    /// A string field.
    fn str<'a>(&mut self, o: &mut Obj<'a, '_>, key: &str, required: bool) -> Option<&'a str> {
        self.typed(o, key, required, JsonType::String, |v| match v {
            Json::Str(s) => Some(s.as_ref()),
            _ => None,
        })
    }

    /// A required text field that must not be empty; kept exactly as written.
    fn text(&mut self, o: &mut Obj, key: &str) -> Option<String> {
        let s = self.str(o, key, true)?;
        if s.trim().is_empty() {
            self.error(o.at(key), Message::Empty);
            return None;
        }
        self.check(|| o.at(key), text::check_chars(s))?;
        Some(s.to_owned())
    }

    fn optional_text(&mut self, o: &mut Obj, key: &str) -> Option<String> {
        let s = self.str(o, key, false)?;
        self.check(|| o.at(key), text::check_chars(s))?;
        Some(s.to_owned())
    }

    fn parse<T>(
        &mut self,
        o: &mut Obj,
        key: &str,
        f: impl FnOnce(&str) -> Result<T, Invalid>,
    ) -> Option<T> {
        let s = self.str(o, key, true)?;
        self.check(|| o.at(key), f(s))
    }

    /// An optional field: `Some(None)` when absent, `None` when present but invalid.
    fn optional<T>(
        &mut self,
        o: &mut Obj,
        key: &str,
        f: impl FnOnce(&str) -> Result<T, Invalid>,
    ) -> Option<Option<T>> {
        match self.str(o, key, false) {
            None => Some(None),
            Some(s) => self.check(|| o.at(key), f(s)).map(Some),
        }
    }

    fn code<K: Kind>(&mut self, o: &mut Obj, key: &str) -> Option<Code<K>> {
        let s = self.str(o, key, true)?;
        let code = Code::<K>::from_zj(s);
        if code.is_none() {
            self.error(
                o.at(key),
                Message::CodeUnknown {
                    table: TableName::of::<K>(),
                    value: s.to_owned(),
                    expected: Code::<K>::spellings(|r| r.zj),
                },
            );
        }
        code
    }

    fn object<'a, 'j>(
        &mut self,
        o: &mut Obj<'a, 'j>,
        key: &str,
        required: bool,
    ) -> Option<Obj<'a, 'j>> {
        let fields = self.typed(o, key, required, JsonType::Object, |v| match v {
            Json::Object(fields) => Some(fields),
            _ => None,
        })?;
        Some(Obj::new(o.at(key), fields))
    }

    /// A required array with at least one element.
    fn array<'a, 'j>(&mut self, o: &mut Obj<'a, 'j>, key: &str) -> Option<&'a [Json<'j>]> {
        let items = self.typed(o, key, true, JsonType::Array, |v| match v {
            Json::Array(items) => Some(items),
            _ => None,
        })?;
        if items.is_empty() {
            self.error(o.at(key), Message::EmptyArray);
            return None;
        }
        Some(items)
    }

    fn time(&mut self, o: &mut Obj, key: &str) -> Option<Instant> {
        self.parse(o, key, |s| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
                .ok()
                .filter(|_| s.len() == 19)
                .and_then(|t| beijing().from_local_datetime(&t).single())
                .ok_or_else(|| {
                    Invalid(Message::TimeZhejiang {
                        value: s.to_owned(),
                    })
                })
        })
    }

    fn date(&mut self, o: &mut Obj, key: &str) -> Option<Date> {
        self.parse(o, key, parse_date)
    }

    fn boolean(&mut self, o: &mut Obj, key: &str) -> Option<bool> {
        self.parse(o, key, |s| match s {
            "1" => Ok(true),
            "0" => Ok(false),
            _ => Err(Invalid(Message::BooleanZhejiang {
                value: s.to_owned(),
            })),
        })
    }

    fn person(&mut self, o: &mut Obj, kind_key: &str) -> (Option<String>, Option<IdDocument>) {
        let name = self.text(o, "xm");
        let kind = self.code::<codes::IdType>(o, kind_key);
        let number = self.str(o, "zjhm", true);
        let id = match (kind, number) {
            (Some(k), Some(n)) => self.check(|| o.at("zjhm"), IdDocument::parse(k, n)),
            _ => None,
        };
        (name, id)
    }

    /// A file: `sha256` hex must match the base64 `nr`.
    fn file(&mut self, o: &mut Obj, name_key: &str, type_key: &str) -> Option<File> {
        let name = self.text(o, name_key);
        let mime_type = self.parse(o, type_key, text::mime_type);
        let claimed = self.parse(o, "sha256", parse_hex_digest);
        let content = self.parse(o, "nr", Base64Content::parse);
        let (content, actual) = content?;
        let claimed = claimed?;
        self.check(|| o.at("sha256"), rules::digest_matches(&claimed, &actual))?;
        Some(File {
            name: name?,
            mime_type: mime_type?,
            sha256: claimed,
            content,
        })
    }

    fn application(&mut self, mut root: Obj) -> Option<Application> {
        let number = self.parse(&mut root, "sqbh", ApplicationNo::parse);
        let item = self.code::<codes::Item>(&mut root, "sxbm");

        let applicant = self.object(&mut root, "sqr", true).and_then(|mut o| {
            let (name, id) = self.person(&mut o, "zjlx");
            let mobile = self.parse(&mut o, "sjhm", Mobile::parse);
            self.finish(o);
            Some(Applicant {
                name: name?,
                id: id?,
                mobile: mobile?,
            })
        });

        let mut facts = ApplicationFacts {
            item,
            has_food: root.has("spjy"),
            has_scope: root.has("jyfw"),
            ..Default::default()
        };

        let operator = self.object(&mut root, "jyz", true).and_then(|mut o| {
            let name = self.text(&mut o, "mc");
            facts.has_uscc = o.has("tyshxydm");
            let uscc = self.optional(&mut o, "tyshxydm", Uscc::parse);
            let entity_type = self.code::<codes::EntityType>(&mut o, "ztlx");
            facts.entity_type = entity_type;
            let legal_rep = self.object(&mut o, "fddbr", true).and_then(|mut p| {
                let (name, id) = self.person(&mut p, "zjlx");
                self.finish(p);
                Some(Person {
                    name: name?,
                    id: id?,
                })
            });
            let capital = self.optional(&mut o, "zczb", parse_wan_yuan);
            let residence = self.text(&mut o, "zs");
            self.finish(o);
            Some(Operator {
                name: name?,
                uscc: uscc?,
                entity_type: entity_type?,
                legal_rep: legal_rep?,
                registered_capital: capital?,
                residence: residence?,
            })
        });

        let premises = self.object(&mut root, "jycs", true).and_then(|mut o| {
            let division = self.parse(&mut o, "xzqh", crate::model::DivisionCode::parse);
            facts.premises = division;
            let address = self.text(&mut o, "xxdz");
            let area = self.parse(&mut o, "mj", |s| parse_fixed(s, 2, "m²"));
            self.finish(o);
            Some(Premises {
                division: division?,
                address: address?,
                area: CentiSquareMetres(area?),
            })
        });

        let food = match self.object(&mut root, "spjy", false) {
            None => Some(None),
            Some(mut o) => {
                let main_format = self.code::<codes::MainFormat>(&mut o, "ztyt");
                let format_note = self.optional_text(&mut o, "ztytbz");
                let items = self.array(&mut o, "jyxm").map(|items| {
                    let mut codes = Vec::with_capacity(items.len());
                    for (i, item) in items.iter().enumerate() {
                        let path = format!("{}[{i}]", o.at("jyxm"));
                        match item {
                            Json::Str(s) => match Code::<codes::FoodItem>::from_zj(s) {
                                Some(c) if codes.contains(&c) => self.error(
                                    path,
                                    Message::ListedTwice {
                                        value: s.to_string(),
                                    },
                                ),
                                Some(c) => codes.push(c),
                                None => self.error(
                                    path,
                                    Message::CodeUnknown {
                                        table: TableName::of::<codes::FoodItem>(),
                                        value: s.to_string(),
                                        expected: Code::<codes::FoodItem>::spellings(|r| r.zj),
                                    },
                                ),
                            },
                            other => self.error(
                                path,
                                Message::WrongType {
                                    expected: JsonType::String,
                                    got: other.kind(),
                                },
                            ),
                        }
                    }
                    codes
                });
                let manager = self.object(&mut o, "spaqgly", true).and_then(|mut m| {
                    let name = self.text(&mut m, "xm");
                    let id = self.parse(&mut m, "zjhm", ResidentId::parse);
                    let mobile = self.parse(&mut m, "sjhm", Mobile::parse);
                    self.finish(m);
                    Some(SafetyManager {
                        name: name?,
                        id_number: id?,
                        mobile: mobile?,
                    })
                });
                let online_sales = self.boolean(&mut o, "wlxs");
                self.finish(o);
                (|| {
                    Some(Some(FoodBusiness {
                        main_format: main_format?,
                        format_note,
                        items: items?,
                        safety_manager: manager?,
                        online_sales: online_sales?,
                    }))
                })()
            }
        };

        let business_scope = self.optional_text(&mut root, "jyfw");

        let materials = self.array(&mut root, "cl").and_then(|items| {
            if items.len() > limits::MAX_MATERIALS {
                self.error(
                    format!("cl[{}]", limits::MAX_MATERIALS),
                    Message::TooManyMaterials {
                        max: limits::MAX_MATERIALS,
                    },
                );
                return None;
            }
            let mut materials = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let path = format!("cl[{i}]");
                let Json::Object(fields) = item else {
                    self.error(
                        path,
                        Message::WrongType {
                            expected: JsonType::Object,
                            got: item.kind(),
                        },
                    );
                    continue;
                };
                let mut o = Obj::new(path, fields);
                let code = self.code::<codes::Material>(&mut o, "clbm");
                let title = self.text(&mut o, "clmc");
                let file = self.file(&mut o, "wjm", "wjlx");
                self.finish(o);
                if let (Some(code), Some(title), Some(file)) = (code, title, file) {
                    materials.push(Material { code, title, file });
                }
            }
            Some(materials)
        });

        let acceptance = self.object(&mut root, "slxx", true).and_then(|mut o| {
            let office = self.text(&mut o, "sljg");
            let office_uscc = self.parse(&mut o, "sljgdm", Uscc::parse);
            let clerk = self.text(&mut o, "slr");
            let accepted_at = self.time(&mut o, "slsj");
            self.finish(o);
            Some(Acceptance {
                office: office?,
                office_uscc: office_uscc?,
                clerk: clerk?,
                accepted_at: accepted_at?,
            })
        });

        let region = self.parse(&mut root, "mbqy", crate::model::DivisionCode::parse);
        facts.target = region;
        let authority = self.text(&mut root, "spjg");

        let contact = match self.object(&mut root, "lxr", false) {
            None => Some(None),
            Some(mut o) => {
                let name = self.text(&mut o, "xm");
                let mobile = self.parse(&mut o, "sjhm", Mobile::parse);
                self.finish(o);
                (|| {
                    Some(Some(Contact {
                        name: name?,
                        mobile: mobile?,
                    }))
                })()
            }
        };
        let remark = self.optional_text(&mut root, "bz");
        self.extensions_from_kzxx(&mut root);
        self.finish(root);

        rules::application(&facts, &mut self.problems, field_path);

        Some(Application {
            number: number?,
            item: item?,
            applicant: applicant?,
            operator: operator?,
            premises: premises?,
            food: food?,
            business_scope,
            materials: materials.filter(|m| !m.is_empty())?,
            acceptance: acceptance?,
            target: Target {
                region: region?,
                authority: authority?,
            },
            contact: contact?,
            remark,
            extensions: std::mem::take(&mut self.extensions),
        })
    }

    /// `kzxx`: string → string, taken into the extensions as they are.
    fn extensions_from_kzxx(&mut self, root: &mut Obj) {
        let Some(o) = self.object(root, "kzxx", false) else {
            return;
        };
        for (key, value) in o.fields {
            match value {
                Json::Str(_) if key.starts_with(OWN_PREFIX) => self.error(
                    o.at(key),
                    Message::ExtensionReservedKzxx { prefix: OWN_PREFIX },
                ),
                Json::Str(s) => self.carry(o.at(key), key.to_string(), s.to_string()),
                other => self.error(
                    o.at(key),
                    Message::WrongType {
                        expected: JsonType::String,
                        got: other.kind(),
                    },
                ),
            }
        }
    }

    fn decision(&mut self, mut root: Obj) -> Option<Decision> {
        let number = self.parse(&mut root, "sqbh", ApplicationNo::parse);
        let outcome = self.parse(&mut root, "jg", |s| match s {
            "1" => Ok(Outcome::Granted),
            "2" => Ok(Outcome::Refused),
            "3" => Ok(Outcome::Correction),
            _ => Err(Invalid(Message::ResultZhejiang {
                value: s.to_owned(),
            })),
        });
        let opinion = self.text(&mut root, "yj");
        let officer = self.text(&mut root, "spr");
        let decided_at = self.time(&mut root, "spsj");
        let mut facts = DecisionFacts {
            outcome,
            has_licence: root.has("zz"),
            ..Default::default()
        };
        let licence = match self.object(&mut root, "zz", false) {
            None => Some(None),
            Some(mut o) => {
                let number = self.text(&mut o, "zzbh");
                if let Some(n) = &number {
                    rules::licence_number(n, &mut self.problems, || o.at("zzbh"));
                }
                let name = self.text(&mut o, "zzmc");
                let valid_from = self.date(&mut o, "yxqq");
                let valid_to = self.date(&mut o, "yxqz");
                facts.validity = valid_from.zip(valid_to);
                let issued_by = self.text(&mut o, "fzjg");
                if let Some(a) = &issued_by {
                    rules::issuing_authority(a, &mut self.problems, || o.at("fzjg"));
                }
                let issued_on = self.date(&mut o, "fzrq");
                let uscc = self.optional(&mut o, "tyshxydm", Uscc::parse);
                let file = self.object(&mut o, "dzzz", true).and_then(|mut f| {
                    let file = self.file(&mut f, "wjm", "wjlx");
                    self.finish(f);
                    file
                });
                self.finish(o);
                (|| {
                    Some(Some(Licence {
                        number: number?,
                        name: name?,
                        valid_from: valid_from?,
                        valid_to: valid_to?,
                        issued_by: issued_by?,
                        issued_on: issued_on?,
                        uscc: uscc?,
                        file: file?,
                    }))
                })()
            }
        };
        self.extensions_from_kzxx(&mut root);
        self.finish(root);
        rules::decision(&facts, &mut self.problems, field_path);
        let outcome_note = self.extensions.remove(RESULT_NOTE_KEY);
        Some(Decision {
            number: number?,
            outcome: outcome?,
            outcome_note,
            opinion: opinion?,
            officer: officer?,
            decided_at: decided_at?,
            licence: licence?,
            extensions: std::mem::take(&mut self.extensions),
        })
    }
}

/// How an unknown field's value is kept as extension text: a string as itself when it could
/// not be mistaken for JSON (so it reads naturally in Shanghai's `Extensions`), anything
/// else as JSON text. [`JsonWriter::close`] undoes it: text that parses as JSON is written
/// as JSON, other text as a string.
fn extension_text(value: &Json) -> String {
    match value {
        Json::Str(s) if serde_json::from_str::<serde::de::IgnoredAny>(s).is_err() => s.to_string(),
        other => other.to_text(),
    }
}

/// Where `field` is in a Zhejiang document, as problems name it.
pub fn field_path(field: Field) -> String {
    match field {
        Field::Item => "sxbm",
        Field::OperatorUscc => "jyz.tyshxydm",
        Field::EntityType => "jyz.ztlx",
        Field::Food => "spjy",
        Field::BusinessScope => "jyfw",
        Field::PremisesDivision => "jycs.xzqh",
        Field::TargetRegion => "mbqy",
        Field::OfficeUscc => "slxx.sljgdm",
        Field::Licence => "zz",
        Field::LicenceValidTo => "zz.yxqz",
        Field::LicenceNumber => "zz.zzbh",
    }
    .to_owned()
}

fn parse_date(s: &str) -> Result<Date, Invalid> {
    Date::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .filter(|_| s.len() == 10)
        .ok_or_else(|| {
            Invalid(Message::DateShape {
                value: s.to_owned(),
            })
        })
}

fn parse_wan_yuan(s: &str) -> Result<Fen, Invalid> {
    parse_fixed(s, WAN_YUAN_SCALE, "万元").map(Fen)
}

fn parse_hex_digest(s: &str) -> Result<Sha256Digest, Invalid> {
    let mut d = [0u8; 32];
    if s.len() != 64 || hex::decode_to_slice(s, &mut d).is_err() {
        return Err(Invalid(Message::DigestHex {
            got: s.chars().count(),
        }));
    }
    Ok(Sha256Digest(d))
}

// ----------------------------------------------------------------------------------------
// Writing
// ----------------------------------------------------------------------------------------

/// Writes compact JSON, fields in the order of the interface document. `zj:` extensions go
/// back to their place; other extensions go into `kzxx`.
pub fn write(document: &Document) -> Written {
    let capacity = document_size_hint(document);
    let out = match document {
        Document::Application(a) => {
            let mut w = JsonWriter::new(capacity, &a.extensions);
            write_application(&mut w, a);
            w.out
        }
        Document::Decision(d) => {
            let mut w = JsonWriter::new(capacity, &d.extensions);
            write_decision(&mut w, d);
            w.out
        }
    };
    Written {
        bytes: out,
        warnings: Problems::new(),
    }
}

fn document_size_hint(document: &Document) -> usize {
    let files: usize = match document {
        Document::Application(a) => a
            .materials
            .iter()
            .map(|m| m.file.content.as_str().len())
            .sum(),
        Document::Decision(d) => d
            .licence
            .as_ref()
            .map_or(0, |l| l.file.content.as_str().len()),
    };
    files + 4096
}

/// A streaming JSON object writer that puts `~zj:` extensions back where they came from.
struct JsonWriter<'e> {
    out: Vec<u8>,
    /// The open objects, innermost last: whether each has a field yet, and its path (mostly
    /// fixed, so borrowed).
    open: Vec<(bool, Cow<'static, str>)>,
    /// The `~zj:` extensions to put back, by the path of the object they belong in (most
    /// documents have none): grouped once, so that closing an object looks at its own only
    /// and writing stays linear however many objects and extensions there are.
    extensions: Option<ByParent<'e>>,
}

/// `~zj:` extensions by the path of their object: each field's name (unescaped) and value.
type ByParent<'e> = HashMap<&'e str, Vec<(Cow<'e, str>, &'e str)>>;

/// Deepest nesting of objects written (`jyz.fddbr`, `spjy.spaqgly`, `zz.dzzz`).
const OPEN_OBJECTS: usize = 4;

/// Objects of the interface other than the root and `cl[i]`, deepest first: where an
/// unknown field's path (`jyz.fddbr.x`) says it belongs. Anything else is the root's,
/// dots and all (an unknown field `a.b` at the root).
const NESTED_OBJECTS: &[&str] = &[
    "jyz.fddbr",
    "spjy.spaqgly",
    "zz.dzzz",
    "sqr",
    "jyz",
    "jycs",
    "spjy",
    "slxx",
    "lxr",
    "zz",
];

/// Adds an unknown field's `name` to its `~zj:` key, `\`, `.` and `[` escaped with `\`,
/// so that the key says unambiguously which object the field was in: a root field
/// `jyz.x` is `~zj:jyz\.x`, a field `x` of `jyz` is `~zj:jyz.x`.
fn escape_name(name: &str, into: &mut String) {
    for c in name.chars() {
        if matches!(c, '\\' | '.' | '[') {
            into.push('\\');
        }
        into.push(c);
    }
}

/// The name `escape_name` escaped (an unescaped key, from an older gateway, as it is).
fn unescape_name(escaped: &str) -> Cow<'_, str> {
    if !escaped.contains('\\') {
        return Cow::Borrowed(escaped);
    }
    let mut name = String::with_capacity(escaped.len());
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => name.extend(chars.next()),
            c => name.push(c),
        }
    }
    Cow::Owned(name)
}

/// Whether the extension `key` is the gateway's own (`~zj:`) for a field that Zhejiang's
/// application interface defines (its object's own fields): such an entry cannot be put back,
/// since the writer writes that field from the application itself, so a reader refuses it
/// (Shanghai's, for a partner's `Field` that takes the reserved prefix).
pub fn defines(key: &str) -> bool {
    let Some(own) = key.strip_prefix(OWN_PREFIX) else {
        return false;
    };
    let (parent, name) = placed(own);
    let fields = match parent {
        "" => ROOT_FIELDS,
        "sqr" => SQR_FIELDS,
        "jyz" => JYZ_FIELDS,
        "jyz.fddbr" => FDDBR_FIELDS,
        "jycs" => JYCS_FIELDS,
        "spjy" => SPJY_FIELDS,
        "spjy.spaqgly" => SPAQGLY_FIELDS,
        "slxx" => SLXX_FIELDS,
        "lxr" => LXR_FIELDS,
        p if p.starts_with("cl[") => CL_FIELDS,
        _ => return false,
    };
    fields.contains(&name.as_ref())
}

/// The object `own` (a `~zj:` key without its prefix) belongs in, and its name there.
fn placed(own: &str) -> (&str, Cow<'_, str>) {
    if let Some(rest) = own.strip_prefix("cl[") {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && rest[digits..].starts_with("].") {
            let at = "cl[".len() + digits + 1;
            return (&own[..at], unescape_name(&own[at + 1..]));
        }
    }
    for parent in NESTED_OBJECTS {
        if let Some(name) = own
            .strip_prefix(parent)
            .and_then(|rest| rest.strip_prefix('.'))
        {
            return (&own[..parent.len()], unescape_name(name));
        }
    }
    ("", unescape_name(own))
}

impl<'e> JsonWriter<'e> {
    fn new(capacity: usize, extensions: &'e Extensions) -> Self {
        let own_keys = (Bound::Included(OWN_PREFIX), Bound::Unbounded);
        let mut by_parent = ByParent::new();
        for (key, value) in extensions.range::<str, _>(own_keys) {
            let Some(own) = key.strip_prefix(OWN_PREFIX) else {
                break;
            };
            let (parent, name) = placed(own);
            by_parent.entry(parent).or_default().push((name, value));
        }
        JsonWriter {
            out: Vec::with_capacity(capacity),
            open: Vec::with_capacity(OPEN_OBJECTS),
            extensions: (!by_parent.is_empty()).then_some(by_parent),
        }
    }
    /// The separator before a field of the innermost object.
    fn comma(&mut self) {
        if let Some((has, _)) = self.open.last_mut() {
            if *has {
                self.out.push(b',');
            }
            *has = true;
        }
    }
    /// Starts the field `key`, a name of the interface document: plain ASCII, written as it
    /// stands without looking for characters to escape.
    fn key(&mut self, key: &'static str) {
        debug_assert!(key.bytes().all(|b| b.is_ascii_alphanumeric()));
        self.comma();
        self.out.reserve(key.len() + 3);
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }
    /// Starts a field whose name came with the document (an extension's).
    fn data_key(&mut self, key: &str) {
        self.comma();
        tree::write_str(&mut self.out, key);
        self.out.push(b':');
    }
    fn open(&mut self, key: Option<&'static str>, path: Cow<'static, str>) {
        if let Some(k) = key {
            self.key(k);
        }
        self.out.push(b'{');
        self.open.push((false, path));
    }
    /// Closes the innermost object, after the `~zj:` extensions that belong in it. The
    /// root takes, with their whole path as name, any left over (those whose object was
    /// not written: a root field `lxr.x` when there is no `lxr`).
    fn close(&mut self, known: &[&str]) {
        if let Some(mut by_parent) = self.extensions.take() {
            let path = self.open.last().map(|(_, p)| p.clone()).unwrap_or_default();
            let own = by_parent.remove(path.as_ref()).unwrap_or_default();
            for (name, value) in own {
                if !known.contains(&name.as_ref()) {
                    self.extension(&name, value);
                }
            }
            if self.open.len() == 1 {
                let mut rest: Vec<_> = by_parent.drain().collect();
                rest.sort_unstable();
                for (parent, fields) in rest {
                    for (name, value) in fields {
                        self.extension(&format!("{parent}.{name}"), value);
                    }
                }
            }
            self.extensions = Some(by_parent);
        }
        self.open.pop();
        self.out.push(b'}');
    }
    /// Writes an unknown field put back: its value is JSON text when it parses as JSON,
    /// else a string (see [`extension_text`]).
    fn extension(&mut self, name: &str, value: &str) {
        self.data_key(name);
        if serde_json::from_str::<serde::de::IgnoredAny>(value).is_ok() {
            self.out.extend_from_slice(value.as_bytes());
        } else {
            tree::write_str(&mut self.out, value);
        }
    }
    /// Writes `key` and a JSON array of `items`, each written by `each` (given its index).
    fn array<T>(
        &mut self,
        key: &'static str,
        items: &[T],
        mut each: impl FnMut(&mut Self, usize, &T),
    ) {
        self.key(key);
        self.out.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            each(self, i, item);
        }
        self.out.push(b']');
    }

    fn str(&mut self, key: &'static str, value: &str) {
        self.key(key);
        tree::write_str(&mut self.out, value);
    }
    fn opt(&mut self, key: &'static str, value: Option<&str>) {
        if let Some(v) = value {
            self.str(key, v);
        }
    }
    /// The path of the field `key` of the innermost object (`jyz.fddbr`).
    fn path(&self, key: &str) -> String {
        match self.open.last() {
            Some((_, p)) if !p.is_empty() => format!("{p}.{key}"),
            _ => key.to_owned(),
        }
    }
    /// The path of item `i` of the array `key` (`cl[1]`), which only placing `zj:`
    /// extensions needs: not spelt out when there are none.
    fn item_path(&self, key: &str, i: usize) -> Cow<'static, str> {
        match self.extensions {
            Some(_) => format!("{key}[{i}]").into(),
            None => Cow::Borrowed(""),
        }
    }
}

/// Fields of each object, in the interface document's order; anything else is an extension.
const ROOT_FIELDS: &[&str] = &[
    "sqbh", "sxbm", "sqr", "jyz", "jycs", "spjy", "jyfw", "cl", "slxx", "mbqy", "spjg", "lxr",
    "bz", "kzxx",
];
const SQR_FIELDS: &[&str] = &["xm", "zjlx", "zjhm", "sjhm"];
const JYZ_FIELDS: &[&str] = &["mc", "tyshxydm", "ztlx", "fddbr", "zczb", "zs"];
const FDDBR_FIELDS: &[&str] = &["xm", "zjlx", "zjhm"];
const JYCS_FIELDS: &[&str] = &["xzqh", "xxdz", "mj"];
const SPJY_FIELDS: &[&str] = &["ztyt", "ztytbz", "jyxm", "spaqgly", "wlxs"];
const SPAQGLY_FIELDS: &[&str] = &["xm", "zjhm", "sjhm"];
const CL_FIELDS: &[&str] = &["clbm", "clmc", "wjm", "wjlx", "sha256", "nr"];
const SLXX_FIELDS: &[&str] = &["sljg", "sljgdm", "slr", "slsj"];
const LXR_FIELDS: &[&str] = &["xm", "sjhm"];
const DECISION_FIELDS: &[&str] = &["sqbh", "jg", "yj", "spr", "spsj", "zz", "kzxx"];
const ZZ_FIELDS: &[&str] = &[
    "zzbh", "zzmc", "yxqq", "yxqz", "fzjg", "fzrq", "tyshxydm", "dzzz",
];
const DZZZ_FIELDS: &[&str] = &["wjm", "wjlx", "sha256", "nr"];

/// `yyyy-MM-dd HH:mm:ss` in Beijing time, as chrono's `%Y-%m-%d %H:%M:%S` writes it.
/// Written digit by digit: interpreting the format string cost more than the rest of a
/// field. Years outside 0–9999 and leap seconds, where chrono's output differs from the
/// plain pattern, are still written by chrono.
fn time_text(t: &Instant) -> String {
    let local = t.with_timezone(&beijing());
    let year = local.year();
    if !(0..=9999).contains(&year) || local.nanosecond() >= 1_000_000_000 {
        return local.format("%Y-%m-%d %H:%M:%S").to_string();
    }
    let mut s = String::with_capacity(19);
    // `year` is 0–9999 and every other field below 100: each digit is one ASCII char.
    let mut digits = |n: u32, width: u32, sep: Option<char>| {
        for i in (0..width).rev() {
            s.push(char::from(b'0' + (n / 10u32.pow(i) % 10) as u8));
        }
        if let Some(c) = sep {
            s.push(c);
        }
    };
    digits(year.unsigned_abs(), 4, Some('-'));
    digits(local.month(), 2, Some('-'));
    digits(local.day(), 2, Some(' '));
    digits(local.hour(), 2, Some(':'));
    digits(local.minute(), 2, Some(':'));
    digits(local.second(), 2, None);
    s
}

fn write_file(w: &mut JsonWriter, f: &File) {
    // Into a buffer on the stack (`hex::encode` builds a String a char at a time); 32 bytes
    // fill its 64 ASCII digits exactly, so neither step can fail.
    let mut digest = [0u8; 64];
    let _ = hex::encode_to_slice(f.sha256.0, &mut digest);
    w.str("sha256", std::str::from_utf8(&digest).unwrap_or_default());
    w.str("nr", f.content.as_str());
}

fn write_kzxx<'a>(w: &mut JsonWriter, entries: impl Iterator<Item = (&'a str, &'a str)>) {
    let mut entries = entries.peekable();
    if entries.peek().is_none() {
        return;
    }
    let path = w.path("kzxx");
    w.open(Some("kzxx"), path.into());
    for (k, v) in entries {
        w.data_key(k);
        tree::write_str(&mut w.out, v);
    }
    w.close(&[]);
}

fn plain_extensions(ext: &Extensions) -> impl Iterator<Item = (&str, &str)> {
    ext.iter()
        .filter(|(k, _)| !k.starts_with(OWN_PREFIX))
        .map(|(k, v)| (k.as_str(), v.as_str()))
}

fn write_application(w: &mut JsonWriter, a: &Application) {
    w.open(None, "".into());
    w.str("sqbh", a.number.as_str());
    w.str("sxbm", a.item.zj());

    w.open(Some("sqr"), "sqr".into());
    w.str("xm", &a.applicant.name);
    w.str("zjlx", a.applicant.id.kind.zj());
    w.str("zjhm", a.applicant.id.number());
    w.str("sjhm", a.applicant.mobile.as_str());
    w.close(SQR_FIELDS);

    let op = &a.operator;
    w.open(Some("jyz"), "jyz".into());
    w.str("mc", &op.name);
    w.opt("tyshxydm", op.uscc.as_ref().map(Uscc::as_str));
    w.str("ztlx", op.entity_type.zj());
    w.open(Some("fddbr"), "jyz.fddbr".into());
    w.str("xm", &op.legal_rep.name);
    w.str("zjlx", op.legal_rep.id.kind.zj());
    w.str("zjhm", op.legal_rep.id.number());
    w.close(FDDBR_FIELDS);
    if let Some(c) = op.registered_capital {
        w.str("zczb", &format_fixed(c.0, WAN_YUAN_SCALE, true));
    }
    w.str("zs", &op.residence);
    w.close(JYZ_FIELDS);

    w.open(Some("jycs"), "jycs".into());
    w.str("xzqh", a.premises.division.as_str());
    w.str("xxdz", &a.premises.address);
    w.str("mj", &format_fixed(a.premises.area.0, 2, false));
    w.close(JYCS_FIELDS);

    if let Some(food) = &a.food {
        w.open(Some("spjy"), "spjy".into());
        w.str("ztyt", food.main_format.zj());
        w.opt("ztytbz", food.format_note.as_deref());
        w.array("jyxm", &food.items, |w, _, item| {
            tree::write_str(&mut w.out, item.zj())
        });
        let m = &food.safety_manager;
        w.open(Some("spaqgly"), "spjy.spaqgly".into());
        w.str("xm", &m.name);
        w.str("zjhm", m.id_number.as_str());
        w.str("sjhm", m.mobile.as_str());
        w.close(SPAQGLY_FIELDS);
        w.str("wlxs", if food.online_sales { "1" } else { "0" });
        w.close(SPJY_FIELDS);
    }
    w.opt("jyfw", a.business_scope.as_deref());

    w.array("cl", &a.materials, |w, i, m| {
        let path = w.item_path("cl", i);
        w.open(None, path);
        w.str("clbm", m.code.zj());
        w.str("clmc", &m.title);
        w.str("wjm", &m.file.name);
        w.str("wjlx", &m.file.mime_type);
        write_file(w, &m.file);
        w.close(CL_FIELDS);
    });

    let acc = &a.acceptance;
    w.open(Some("slxx"), "slxx".into());
    w.str("sljg", &acc.office);
    w.str("sljgdm", acc.office_uscc.as_str());
    w.str("slr", &acc.clerk);
    w.str("slsj", &time_text(&acc.accepted_at));
    w.close(SLXX_FIELDS);

    w.str("mbqy", a.target.region.as_str());
    w.str("spjg", &a.target.authority);
    if let Some(c) = &a.contact {
        w.open(Some("lxr"), "lxr".into());
        w.str("xm", &c.name);
        w.str("sjhm", c.mobile.as_str());
        w.close(LXR_FIELDS);
    }
    w.opt("bz", a.remark.as_deref());
    write_kzxx(w, plain_extensions(&a.extensions));
    w.close(ROOT_FIELDS);
}

fn write_decision(w: &mut JsonWriter, d: &Decision) {
    w.open(None, "".into());
    w.str("sqbh", d.number.as_str());
    w.str(
        "jg",
        match d.outcome {
            Outcome::Granted => "1",
            Outcome::Refused => "2",
            Outcome::Correction => "3",
        },
    );
    w.str("yj", &d.opinion);
    w.str("spr", &d.officer);
    w.str("spsj", &time_text(&d.decided_at));
    if let Some(l) = &d.licence {
        w.open(Some("zz"), "zz".into());
        w.str("zzbh", &l.number);
        w.str("zzmc", &l.name);
        w.str("yxqq", &l.valid_from.to_string());
        w.str("yxqz", &l.valid_to.to_string());
        w.str("fzjg", &l.issued_by);
        w.str("fzrq", &l.issued_on.to_string());
        w.opt("tyshxydm", l.uscc.as_ref().map(Uscc::as_str));
        w.open(Some("dzzz"), "zz.dzzz".into());
        w.str("wjm", &l.file.name);
        w.str("wjlx", &l.file.mime_type);
        write_file(w, &l.file);
        w.close(DZZZ_FIELDS);
        w.close(ZZ_FIELDS);
    }
    let note = d.outcome_note.as_deref().map(|n| (RESULT_NOTE_KEY, n));
    write_kzxx(w, note.into_iter().chain(plain_extensions(&d.extensions)));
    w.close(DECISION_FIELDS);
}

// ----------------------------------------------------------------------------------------
// Replies: {code, msg, data}, always HTTP 200
// ----------------------------------------------------------------------------------------

/// `code` of success.
pub const CODE_OK: &str = "0";
/// `code` for invalid data.
pub const CODE_INVALID: &str = "4001";
/// `code` for a duplicate `sqbh`.
pub const CODE_DUPLICATE: &str = "4009";
/// `code` for an internal error (the only one to retry).
pub const CODE_INTERNAL: &str = "5000";

fn reply(code: &str, msg: &str, data: serde_json::Value) -> (u16, Vec<u8>) {
    let body = serde_json::json!({ "code": code, "msg": msg, "data": data });
    (200, serde_json::to_vec(&body).unwrap_or_default())
}

/// Success with the receipt number.
pub fn reply_accepted(receipt: &str) -> (u16, Vec<u8>) {
    reply(CODE_OK, "成功", serde_json::json!({ "sjbh": receipt }))
}

/// `4009`: the `sqbh` was received before; `data.sjbh` is the first receipt; `msg` says so
/// in `lang`.
pub fn reply_duplicate(receipt: &str, lang: Lang) -> (u16, Vec<u8>) {
    let msg = Message::DuplicateReceived {
        receipt: receipt.to_owned(),
    };
    reply(
        CODE_DUPLICATE,
        &msg.render(lang),
        serde_json::json!({ "sjbh": receipt }),
    )
}

/// `4001` with every problem: `msg` holds the `path: message` lines in `lang`, `data.errors`
/// the same as objects, each with the catalogue's stable `code` (`schemas/messages.md`).
pub fn reply_problems(problems: &Problems, lang: Lang) -> (u16, Vec<u8>) {
    let errors: Vec<_> = problems
        .iter()
        .map(|p| serde_json::json!({ "field": p.path, "code": p.code(), "message": p.text(lang) }))
        .collect();
    reply(
        CODE_INVALID,
        &problems.lines(lang),
        serde_json::json!({ "errors": errors }),
    )
}

/// A failure that is not about the data: `5000` when the caller should retry, `4001`
/// otherwise (HTTP 200 either way, as the platform expects); `msg` is `message` in `lang`.
pub fn reply_error(retry: bool, message: &Message, lang: Lang) -> (u16, Vec<u8>) {
    let code = if retry { CODE_INTERNAL } else { CODE_INVALID };
    reply(code, &message.render(lang), serde_json::Value::Null)
}

/// Classifies the platform's reply to something the gateway sent.
pub fn classify_reply(status: u16, body: &[u8]) -> Reply {
    if status != 200 {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        return if status >= 500 || status == 408 || status == 429 {
            Reply::RetryLater(format!("HTTP {status}: {text}"))
        } else {
            Reply::Rejected(format!("HTTP {status}: {text}"))
        };
    }
    #[derive(serde::Deserialize)]
    struct Body {
        code: serde_json::Value,
        #[serde(default)]
        msg: String,
        #[serde(default)]
        data: Option<serde_json::Value>,
    }
    let Ok(b) = serde_json::from_slice::<Body>(body) else {
        return Reply::RetryLater("reply is not {code,msg,data} JSON".into());
    };
    let code = match &b.code {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match code.as_str() {
        CODE_OK => Reply::Accepted {
            receipt: b
                .data
                .as_ref()
                .and_then(|d| d.get("sjbh"))
                .and_then(|s| s.as_str())
                .unwrap_or_default()
                .to_owned(),
        },
        CODE_DUPLICATE => Reply::Duplicate,
        CODE_INTERNAL => Reply::RetryLater(format!("{code}: {}", b.msg)),
        _ => Reply::Rejected(format!("{code}: {}", b.msg)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use chrono::NaiveDate;

    /// The digit-by-digit `time_text` writes what chrono's format string writes.
    #[test]
    fn time_text_matches_chrono() {
        let utc = chrono::FixedOffset::east_opt(0).expect("UTC");
        let cases = [
            (2026, 11, 20, 1, 30, 0, 0),
            (2026, 12, 31, 16, 0, 0, 0),
            (0, 1, 1, 0, 0, 5, 0),
            (9999, 12, 31, 15, 59, 59, 0),
            (9999, 12, 31, 23, 0, 0, 0),
            (-1, 12, 31, 23, 0, 0, 0),
            (2016, 12, 31, 15, 59, 59, 1_500_000_000),
        ];
        for (y, mo, d, h, mi, se, nano) in cases {
            let t = NaiveDate::from_ymd_opt(y, mo, d)
                .and_then(|d| d.and_hms_nano_opt(h, mi, se, nano))
                .and_then(|n| utc.from_local_datetime(&n).single())
                .expect("valid instant");
            let expected = t
                .with_timezone(&beijing())
                .format("%Y-%m-%d %H:%M:%S")
                .to_string();
            assert_eq!(time_text(&t), expected);
        }
    }

    const SAMPLE: &[u8] = include_bytes!("../../../shared/platforms/samples/zj-application.json");

    #[test]
    fn replies_are_classified_once() {
        let ok = br#"{"code":"0","msg":"ok","data":{"sjbh":"R1"}}"#;
        assert_eq!(
            classify_reply(200, ok),
            Reply::Accepted {
                receipt: "R1".into()
            }
        );
        assert_eq!(
            classify_reply(200, br#"{"code":"4009","msg":"dup"}"#),
            Reply::Duplicate
        );
        assert!(matches!(
            classify_reply(200, br#"{"code":"5000","msg":"x"}"#),
            Reply::RetryLater(_)
        ));
        assert!(
            matches!(classify_reply(200, br#"{"code":"4001","msg":"bad"}"#), Reply::Rejected(m) if m.contains("bad"))
        );
        assert!(matches!(
            classify_reply(502, b"<html>"),
            Reply::RetryLater(_)
        ));
        assert!(matches!(classify_reply(403, b""), Reply::Rejected(_)));
        assert!(matches!(
            classify_reply(200, b"not json"),
            Reply::RetryLater(_)
        ));
    }

    #[test]
    fn our_replies_classify_as_what_they_say() {
        let (s, b) = reply_accepted("TB1");
        assert_eq!(
            classify_reply(s, &b),
            Reply::Accepted {
                receipt: "TB1".into()
            }
        );
        let (s, b) = reply_duplicate("TB1", Lang::Zh);
        assert_eq!(classify_reply(s, &b), Reply::Duplicate);
        let (s, b) = reply_error(true, &Message::GatewayInternal, Lang::Zh);
        assert!(matches!(classify_reply(s, &b), Reply::RetryLater(_)));
    }

    #[test]
    fn sample_reads_and_writes_back_to_the_same_json() {
        let read = read(SAMPLE).unwrap();
        assert!(read.warnings.is_empty(), "{}", read.warnings);
        let written = write(&read.document);
        let a: serde_json::Value = serde_json::from_slice(SAMPLE).unwrap();
        let b: serde_json::Value = serde_json::from_slice(&written.bytes).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn unknown_fields_are_carried_and_put_back() {
        let mut v: serde_json::Value = serde_json::from_slice(SAMPLE).unwrap();
        v["jyz"]["xydj"] = serde_json::json!({"level": "A", "n": 3});
        v["cl"][1]["ys"] = serde_json::json!(12);
        v["ywlx"] = serde_json::json!("跨省");
        let bytes = serde_json::to_vec(&v).unwrap();
        let Document::Application(a) = read(&bytes).unwrap().document else {
            panic!("not an application")
        };
        assert_eq!(a.extensions["~zj:jyz.xydj"], r#"{"level":"A","n":3}"#);
        assert_eq!(a.extensions["~zj:cl[1].ys"], "12");
        let back: serde_json::Value =
            serde_json::from_slice(&write(&Document::Application(a)).bytes).unwrap();
        assert_eq!(back, v);
    }
}
