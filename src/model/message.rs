//! The catalogue of every problem the model, the adapters, the gateway and the clerks' page
//! can report (issue 16): a stable code, typed parameters, and its text in Simplified Chinese
//! and in English.
//!
//! A [`Message`] is a value, not a sentence: a [`super::Problem`] carries one with its path,
//! and the text is written only where the reader is known ([`Message::render`]): Chinese for
//! the clerks' page and (by default, `[platforms.*] language`) for a platform's `msg` /
//! `<Message>`, English for logs, either for the CLI (`--lang`, `LANG`). The path is the
//! reader's own: a platform gets its field path before the text (`jycs.mj: …`), the page gets
//! the text alone and places it under the field, whose label [`crate::web::labels`] knows.
//!
//! The texts are two hand-written `match`es rather than format strings looked up at run time
//! (Fluent, gettext): the compiler then checks that every code has both texts and that every
//! parameter a text names exists with its type, which a runtime catalogue only finds when the
//! message is first shown. Two languages and about a hundred codes do not need a translators'
//! file format; `schemas/messages.md` lists them for partners and is checked against this
//! module by a test.

use std::fmt;

use super::Outcome;
use crate::codes::Kind;

/// A reader's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Simplified Chinese: the clerks, the applicant and both platforms' staff.
    #[default]
    Zh,
    /// English: logs and operators who ask for it.
    En,
}

impl Lang {
    /// `zh` or `en`.
    pub fn key(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The language a locale names (`LANG`, `LC_ALL`): `zh_CN.UTF-8`, `zh` → Chinese; any
    /// other (and none) → English.
    pub fn from_locale(locale: &str) -> Lang {
        if locale.starts_with("zh") {
            Lang::Zh
        } else {
            Lang::En
        }
    }
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Lang, String> {
        match s {
            "zh" => Ok(Lang::Zh),
            "en" => Ok(Lang::En),
            other => Err(format!("language '{other}' is not zh or en")),
        }
    }
}

/// A code table's name as messages give it, in both languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableName {
    /// English (`item code`).
    pub en: &'static str,
    /// Chinese (`事项编码`).
    pub zh: &'static str,
}

impl TableName {
    /// The name of `K`'s table.
    pub fn of<K: Kind>() -> TableName {
        TableName {
            en: K::WHAT,
            zh: K::WHAT_ZH,
        }
    }
}

/// A value an identifier message is about, named as the reader knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// 统一社会信用代码.
    Uscc,
    /// 居民身份证号码.
    ResidentId,
    /// The number of another identity document, by its type's name (普通护照).
    IdNumber(String),
    /// 手机号码.
    Mobile,
    /// 行政区划代码.
    Division,
}

impl Subject {
    fn render(&self, lang: Lang) -> String {
        match (self, lang) {
            (Subject::Uscc, _) => "统一社会信用代码".to_owned(),
            (Subject::ResidentId, _) => "居民身份证号码".to_owned(),
            (Subject::IdNumber(kind), Lang::Zh) => format!("{kind}号码"),
            (Subject::IdNumber(kind), Lang::En) => format!("{kind} number"),
            (Subject::Mobile, Lang::Zh) => "手机号码".to_owned(),
            (Subject::Mobile, Lang::En) => "mobile number".to_owned(),
            (Subject::Division, Lang::Zh) => "行政区划代码".to_owned(),
            (Subject::Division, Lang::En) => "division code".to_owned(),
        }
    }
}

/// A JSON value's type, for Zhejiang's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    /// `null`.
    Null,
    /// `true` / `false`.
    Boolean,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl JsonType {
    /// `字符串` / `a string`.
    pub fn render(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (JsonType::Null, Lang::Zh) => "null",
            (JsonType::Null, Lang::En) => "null",
            (JsonType::Boolean, Lang::Zh) => "布尔值",
            (JsonType::Boolean, Lang::En) => "a boolean",
            (JsonType::Number, Lang::Zh) => "数字",
            (JsonType::Number, Lang::En) => "a number",
            (JsonType::String, Lang::Zh) => "字符串",
            (JsonType::String, Lang::En) => "a string",
            (JsonType::Array, Lang::Zh) => "数组",
            (JsonType::Array, Lang::En) => "an array",
            (JsonType::Object, Lang::Zh) => "对象",
            (JsonType::Object, Lang::En) => "an object",
        }
    }
}

/// Which document an endpoint takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// 申请.
    Application,
    /// 审批结果.
    Decision,
}

impl DocKind {
    fn render(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (DocKind::Application, Lang::Zh) => "申请",
            (DocKind::Application, Lang::En) => "an application",
            (DocKind::Decision, Lang::Zh) => "审批结果",
            (DocKind::Decision, Lang::En) => "a decision",
        }
    }
}

/// Why an XML element's namespace is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespace {
    /// In another namespace (its URI).
    Other(String),
    /// In no namespace.
    None,
    /// With a prefix no `xmlns` declares.
    UndeclaredPrefix(String),
}

fn outcome(o: Outcome, lang: Lang) -> &'static str {
    match (o, lang) {
        (Outcome::Granted, Lang::Zh) => "准予",
        (Outcome::Granted, Lang::En) => "Granted",
        (Outcome::Refused, Lang::Zh) => "不予",
        (Outcome::Refused, Lang::En) => "Refused",
        (Outcome::Correction, Lang::Zh) => "补正",
        (Outcome::Correction, Lang::En) => "Correction",
    }
}

/// Every message, with its parameters. Values from documents (`value`, `name`, …) are
/// shown as given; nothing in a parameter is translated but the small enums above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    // ---- identifiers (GB 32100, GB 11643, GB/T 2260, numbers) ----
    /// A full-width digit or letter in an identifier.
    FullWidth { subject: Subject, char: char },
    /// 统一社会信用代码 of another length than 18.
    UsccLength { value: String, got: usize },
    /// A lowercase letter in a 统一社会信用代码.
    UsccLowercase { char: char, position: usize },
    /// A character outside GB 32100's alphabet.
    UsccBadChar { char: char, position: usize },
    /// A check character that does not match.
    UsccCheck {
        value: String,
        got: char,
        expected: char,
    },
    /// 居民身份证号码 of another length than 18.
    IdLength { got: usize },
    /// 居民身份证号码 not 17 digits and a check character.
    IdShape,
    /// 居民身份证号码 with an impossible birth date.
    IdBirthDate { birth: String },
    /// 居民身份证号码 whose check digit does not match.
    IdCheck { got: char, expected: char },
    /// Another identity document's number of the wrong shape.
    IdOtherShape { kind: String },
    /// Not 11 digits starting with 1.
    MobileShape { value: String },
    /// An application number of the wrong length.
    NumberLength { max: usize, got: usize },
    /// An application number with a character outside `[0-9A-Za-z-]`.
    NumberBadChar { char: char },
    /// A division code that is not 6 digits.
    DivisionShape { value: String },
    /// A division code replaced since.
    DivisionFormer {
        code: u32,
        name: String,
        changed: String,
        successor: u32,
        successor_name: String,
    },
    /// A division code not in GB/T 2260.
    DivisionUnknown { value: String },
    /// A food licence number not `JY` + 14 digits.
    LicenceNoShape { value: String },
    /// A food licence number whose check digit does not match (a warning).
    LicenceNoCheck {
        value: String,
        got: char,
        expected: u8,
    },
    /// An empty licence number.
    LicenceNoEmpty,
    // ---- values ----
    /// Not a decimal number.
    DecimalShape { value: String, unit: &'static str },
    /// More fraction digits than the unit holds.
    DecimalTooFine {
        value: String,
        digits: usize,
        unit: &'static str,
        max: u32,
    },
    /// Too large to hold.
    DecimalTooLarge { value: String, unit: &'static str },
    /// Not exactly 2 fraction digits where Shanghai writes 2.
    TwoDecimalsShape {
        value: String,
        unit: &'static str,
        example: &'static str,
    },
    /// More than 2 fraction digits where Shanghai writes 2.
    TwoDecimalsTooFine {
        value: String,
        digits: usize,
        unit: &'static str,
    },
    /// Base64 whose length is not a multiple of 4.
    Base64Padding { len: usize },
    /// Base64 that does not decode.
    Base64Invalid { at: usize, detail: String },
    /// A digest that is not the content's.
    DigestMismatch { actual: String, claimed: String },
    /// Not 64 hex digits (Zhejiang).
    DigestHex { got: usize },
    /// A hex digest where Shanghai writes base64.
    DigestLooksHex { value: String },
    /// A digest that is not base64.
    DigestBase64 { detail: String },
    /// A digest of the wrong length.
    DigestLength { got: usize },
    /// `<Digest>` without `algorithm`.
    DigestAlgorithmMissing,
    /// An algorithm other than SHA-256.
    DigestAlgorithm { value: String },
    /// A character XML 1.0 cannot carry.
    ForbiddenChar { char: char },
    /// Not a MIME type.
    MimeType { value: String },
    /// Not a date `yyyy-MM-dd`.
    DateShape { value: String },
    /// Date-shaped but not a calendar date.
    DateNotCalendar { value: String },
    /// Not Zhejiang's `yyyy-MM-dd HH:mm:ss`.
    TimeZhejiang { value: String },
    /// Not Shanghai's ISO 8601 with offset.
    TimeShanghai { value: String },
    /// Not a time of day.
    TimeOfDay { value: String },
    /// Fractional seconds Zhejiang cannot carry.
    TimeFraction { value: String },
    /// No offset.
    TimeNoOffset { value: String },
    /// An impossible offset.
    TimeOffsetImpossible { value: String, offset: String },
    /// An offset beyond 18 hours.
    TimeOffsetTooWide { value: String, offset: String },
    /// An unreadable offset.
    TimeOffsetUnreadable { value: String, offset: String },
    /// Not `"1"` / `"0"`.
    BooleanZhejiang { value: String },
    /// Not `true` / `false`.
    BooleanShanghai { value: String },
    /// Not `"1"`, `"2"` or `"3"`.
    ResultZhejiang { value: String },
    /// Not `GRANTED`, `REFUSED` or `CORRECTION`.
    ResultShanghai { value: String },
    /// Registered capital in another currency.
    CurrencyNotCny { value: String },
    // ---- codes ----
    /// A code not in the table.
    CodeUnknown {
        table: TableName,
        value: String,
        expected: String,
    },
    /// Zhejiang's spelling of a code sent to Shanghai's field.
    CodeZhejiangSpelling {
        table: TableName,
        value: String,
        name: String,
        shanghai: String,
    },
    /// A code's text disagrees with the table (a warning; the code wins).
    CodeNameMismatch {
        table: TableName,
        name: String,
        code: String,
        expected: String,
    },
    /// A business item listed twice.
    ListedTwice { value: String },
    // ---- fields of a document ----
    /// A required field is absent.
    Required,
    /// A field must not be empty.
    Empty,
    /// An array must have an element.
    EmptyArray,
    /// A field of the wrong JSON type.
    WrongType { expected: JsonType, got: JsonType },
    /// A field given twice.
    Duplicate,
    /// An extension without a name.
    ExtensionNameless,
    /// A `kzxx` key taking the gateway's `~zj:` prefix.
    ExtensionReservedKzxx { prefix: &'static str },
    /// A Shanghai `Field` without a name (`name=""`).
    FieldNameless,
    /// A Shanghai `Field` named twice.
    FieldRepeated { name: String },
    /// A Shanghai `Field` `~zj:` naming a field Zhejiang defines.
    FieldReserved { name: String },
    // ---- limits ----
    /// Too many extension entries.
    TooManyExtensions { max: usize },
    /// Extensions too large.
    ExtensionsTooLarge { kib: usize, max_bytes: usize },
    /// Too many materials.
    TooManyMaterials { max: usize },
    /// JSON nested too deep.
    JsonTooDeep { max: usize },
    /// Too many fields in one JSON object.
    JsonTooManyFields { max: usize, max_extensions: usize },
    /// Too many XML attributes on one element.
    TooManyAttributes { max: usize },
    /// Too many XML elements.
    TooManyElements { max: usize },
    /// XML nested too deep.
    XmlTooDeep { max: usize },
    // ---- JSON ----
    /// The body is not a JSON object.
    JsonNotObject { got: JsonType },
    /// The body is not JSON.
    JsonInvalid { detail: String },
    // ---- XML ----
    /// A root other than `RemoteApply` / `RemoteDecision`.
    XmlUnknownDocument { name: String },
    /// The document could not be read whole.
    DocumentIncomplete,
    /// Text in an element of elements.
    XmlUnexpectedText { text: String, element: String },
    /// An element the parent's sequence lacks.
    XmlUnknownElement {
        name: String,
        parent: String,
        expected: String,
    },
    /// An element given more than once.
    XmlRepeated { name: String },
    /// An element out of order.
    XmlOutOfOrder { name: String, before: String },
    /// More unknown elements than reported.
    XmlMoreUnknown {
        count: usize,
        parent: String,
        reported: usize,
    },
    /// A required element is missing.
    XmlMissingElement { name: String },
    /// An attribute the element does not have.
    XmlUnknownAttribute { name: String, element: String },
    /// An element inside a text element.
    XmlElementInText { name: String, parent: String },
    /// An element that must have text is empty.
    XmlEmpty { name: String },
    /// A required attribute is missing.
    XmlMissingAttribute { name: String, element: String },
    /// `<Office>` without text.
    OfficeUnnamed,
    /// `Target/@authority` empty.
    AuthorityEmpty,
    /// UTF-16.
    XmlUtf16,
    /// A UTF-8 byte order mark and GB18030 declared.
    XmlBomGb18030,
    /// Declared GB18030, not GB18030.
    XmlBadGb18030,
    /// An encoding other than UTF-8 or GB18030.
    XmlEncoding { value: String },
    /// Declared UTF-8, not UTF-8.
    XmlBadUtf8 { byte: usize },
    /// Not well-formed.
    XmlNotWellFormed { byte: u64, detail: String },
    /// A DOCTYPE.
    XmlDoctype,
    /// Something after the root.
    XmlAfterRoot { name: String },
    /// An element in a foreign namespace.
    XmlNamespace {
        name: String,
        why: Namespace,
        expected: &'static str,
    },
    /// An end tag without a start.
    XmlEndWithoutStart,
    /// Text outside the root.
    XmlTextOutsideRoot,
    /// Character data with a bad reference.
    XmlBadCharacterData { detail: String },
    /// CDATA outside the root.
    XmlCdataOutsideRoot,
    /// The document ends inside an element.
    XmlUnclosed { name: String },
    /// No root element.
    XmlNoRoot,
    /// More texts with forbidden characters than reported.
    XmlMoreForbidden { reported: usize },
    /// An unreadable attribute.
    XmlBadAttribute { detail: String },
    /// An attribute with a prefix.
    XmlPrefixedAttribute,
    /// An attribute value with a bad reference.
    XmlBadAttributeValue { detail: String },
    // ---- writing (warnings) ----
    /// Control characters written as U+FFFD.
    WriteControlChars,
    /// A decision's extensions, which Shanghai's format has no place for.
    WriteDecisionExtensionDropped,
    // ---- cross-field rules ----
    /// A section required for the item.
    RequiredForItem { item: String },
    /// The operator's USCC is required for a food item.
    UsccRequiredForItem { item: String },
    /// A section only registrations have.
    OnlyForRegistration { item: String },
    /// A USCC given for a registration.
    UsccAbsentForRegistration { item: String },
    /// A section only food items have.
    OnlyForFood { item: String },
    /// An entity type the item cannot register.
    EntityNotForItem { entity: String, item: String },
    /// A target without jurisdiction over the premises.
    NoJurisdiction {
        target: String,
        target_name: String,
        premises: String,
        premises_name: String,
    },
    /// A grant without a licence.
    LicenceRequired,
    /// A licence with a refusal or correction.
    LicenceAbsent { outcome: Outcome },
    /// Validity ends before it starts.
    ValidityReversed { from: String, to: String },
    // ---- the gateway ----
    /// A document of the other kind at an endpoint.
    WrongKind { expected: DocKind, got: DocKind },
    /// The accepting office is outside the sender's province.
    OfficeOutsideProvince,
    /// The target region is in the sender's own province.
    OwnProvince { region: u32 },
    /// No platform is configured for the target region.
    NoRoute { region: u32 },
    /// The target region routes back to the sender.
    RoutesBack { region: u32 },
    /// The number was received before with other content (the first receipt).
    DuplicateReceived { receipt: String },
    /// The gateway failed; the caller should retry.
    GatewayInternal,
    /// A platform called another platform's endpoint.
    WrongEndpoint { platform: String },
    /// A decision on a number never forwarded to the caller.
    UnknownApplication { number: String },
    /// A decision on the same number is being processed.
    DecisionInProgress,
    /// A request without a client certificate.
    NoClientCertificate,
    /// The caller's own RFC 9421 signature was refused.
    SignatureRefused { detail: String },
    /// The request was not completed in time; the caller should retry.
    RequestTimeout { limit: String },
    /// A sandbox platform is switched off (tests and the demo only).
    SandboxDown,
    // ---- the HTTP layer ----
    /// The body is larger than the limit.
    HttpTooLarge { limit: String },
    /// The body did not arrive in time.
    HttpTooSlow { limit: String },
    /// The body's framing is broken.
    HttpFraming { detail: String },
    /// The wrong `Content-Type`.
    HttpContentType {
        expected: &'static str,
        got: Option<String>,
    },
    /// Not `POST`.
    HttpMethod { method: String },
    /// No endpoint at the path.
    HttpUnknownPath { path: String },
    // ---- the clerks' page ----
    /// A division the clerk typed lies outside the province the window serves.
    PageOutsideProvince { name: String, province: String },
    /// The submission is not a JSON object.
    PageNotObject,
    /// The submission is a decision.
    PageNotApplication,
    /// The attachments are larger than the page accepts.
    PageAttachmentsTooLarge { mib: usize, max_mib: usize },
}

use Message as M;

impl Message {
    /// Every code, in the catalogue's order: what `schemas/messages.md` and the OpenAPI
    /// document list.
    pub const CODES: &'static [&'static str] = &[
        "id.full-width",
        "uscc.length",
        "uscc.lowercase",
        "uscc.char",
        "uscc.check",
        "resident-id.length",
        "resident-id.shape",
        "resident-id.birth-date",
        "resident-id.check",
        "id.shape",
        "mobile.shape",
        "number.length",
        "number.char",
        "division.shape",
        "division.former",
        "division.unknown",
        "licence-no.shape",
        "licence-no.check",
        "licence-no.empty",
        "decimal.shape",
        "decimal.too-fine",
        "decimal.too-large",
        "decimal.two-shape",
        "decimal.two-too-fine",
        "base64.padding",
        "base64.invalid",
        "digest.mismatch",
        "digest.hex",
        "digest.looks-hex",
        "digest.base64",
        "digest.length",
        "digest.algorithm-missing",
        "digest.algorithm",
        "text.forbidden-char",
        "mime.shape",
        "date.shape",
        "date.calendar",
        "time.zj-shape",
        "time.sh-shape",
        "time.of-day",
        "time.fraction",
        "time.no-offset",
        "time.offset-impossible",
        "time.offset-too-wide",
        "time.offset-unreadable",
        "boolean.zj",
        "boolean.sh",
        "result.zj",
        "result.sh",
        "currency.not-cny",
        "code.unknown",
        "code.zj-spelling",
        "code.name-mismatch",
        "code.listed-twice",
        "field.required",
        "field.empty",
        "field.empty-array",
        "field.wrong-type",
        "field.duplicate",
        "extension.nameless",
        "extension.reserved",
        "extension.field-nameless",
        "extension.field-repeated",
        "extension.field-reserved",
        "limit.extensions",
        "limit.extension-bytes",
        "limit.materials",
        "limit.json-depth",
        "limit.json-fields",
        "limit.xml-attributes",
        "limit.xml-elements",
        "limit.xml-depth",
        "json.not-object",
        "json.invalid",
        "xml.unknown-document",
        "document.incomplete",
        "xml.unexpected-text",
        "xml.unknown-element",
        "xml.repeated",
        "xml.out-of-order",
        "xml.more-unknown",
        "xml.missing-element",
        "xml.unknown-attribute",
        "xml.element-in-text",
        "xml.empty",
        "xml.missing-attribute",
        "office.unnamed",
        "authority.empty",
        "xml.utf16",
        "xml.bom-gb18030",
        "xml.bad-gb18030",
        "xml.encoding",
        "xml.bad-utf8",
        "xml.not-well-formed",
        "xml.doctype",
        "xml.after-root",
        "xml.namespace",
        "xml.end-without-start",
        "xml.text-outside-root",
        "xml.bad-character-data",
        "xml.cdata-outside-root",
        "xml.unclosed",
        "xml.no-root",
        "xml.more-forbidden",
        "xml.bad-attribute",
        "xml.prefixed-attribute",
        "xml.bad-attribute-value",
        "write.control-chars",
        "write.decision-extensions",
        "rule.required-for-item",
        "rule.uscc-required",
        "rule.only-registration",
        "rule.uscc-absent",
        "rule.only-food",
        "rule.entity-not-for-item",
        "rule.no-jurisdiction",
        "rule.licence-required",
        "rule.licence-absent",
        "rule.validity-reversed",
        "intake.wrong-kind",
        "route.office-outside-province",
        "route.own-province",
        "route.no-route",
        "route.routes-back",
        "intake.duplicate",
        "gateway.internal",
        "gateway.wrong-endpoint",
        "gateway.unknown-application",
        "gateway.decision-in-progress",
        "gateway.no-client-certificate",
        "gateway.signature-refused",
        "gateway.timeout",
        "sandbox.down",
        "http.too-large",
        "http.too-slow",
        "http.framing",
        "http.content-type",
        "http.method",
        "http.unknown-path",
        "page.outside-province",
        "page.not-object",
        "page.not-application",
        "page.attachments-too-large",
    ];

    /// One message of every code, with parameters as a real document gives them: what the
    /// catalogue's tests walk and `schemas/messages.md` shows. (A code missing here fails
    /// `tests::every_code_has_an_example_and_codes_are_unique`.)
    pub fn examples() -> Vec<Message> {
        let s = |v: &str| v.to_owned();
        let item = || s("食品经营许可（新办）");
        vec![
            M::FullWidth {
                subject: Subject::ResidentId,
                char: '３',
            },
            M::UsccLength {
                value: s("92330482MA2JD0C80"),
                got: 17,
            },
            M::UsccLowercase {
                char: 'm',
                position: 9,
            },
            M::UsccBadChar {
                char: 'O',
                position: 17,
            },
            M::UsccCheck {
                value: s("92330482MA2JD0C80E"),
                got: 'E',
                expected: 'D',
            },
            M::IdLength { got: 17 },
            M::IdShape,
            M::IdBirthDate {
                birth: s("19921304"),
            },
            M::IdCheck {
                got: '8',
                expected: '7',
            },
            M::IdOtherShape {
                kind: s("普通护照"),
            },
            M::MobileShape {
                value: s("1381234567"),
            },
            M::NumberLength { max: 32, got: 33 },
            M::NumberBadChar { char: ' ' },
            M::DivisionShape { value: s("33048") },
            M::DivisionFormer {
                code: 320584,
                name: s("吴江市"),
                changed: s("2012-09"),
                successor: 320509,
                successor_name: s("江苏省苏州市吴江区"),
            },
            M::DivisionUnknown { value: s("330499") },
            M::LicenceNoShape {
                value: s("JY2330482000001"),
            },
            M::LicenceNoCheck {
                value: s("JY23304820000012"),
                got: '2',
                expected: 1,
            },
            M::LicenceNoEmpty,
            M::DecimalShape {
                value: s("45.5平方"),
                unit: "m²",
            },
            M::DecimalTooFine {
                value: s("10.0000001"),
                digits: 7,
                unit: "万元",
                max: 6,
            },
            M::DecimalTooLarge {
                value: s("99999999999999999999"),
                unit: "万元",
            },
            M::TwoDecimalsShape {
                value: s("45.5平方"),
                unit: "m²",
                example: "45.50",
            },
            M::TwoDecimalsTooFine {
                value: s("100.005"),
                digits: 3,
                unit: "元",
            },
            M::Base64Padding { len: 13 },
            M::Base64Invalid {
                at: 0,
                detail: s("Invalid symbol 42, offset 8."),
            },
            M::DigestMismatch {
                actual: s("eb6d…a384"),
                claimed: s("0000…0000"),
            },
            M::DigestHex { got: 44 },
            M::DigestLooksHex {
                value: s("eb6d…a384"),
            },
            M::DigestBase64 {
                detail: s("Invalid padding"),
            },
            M::DigestLength { got: 3 },
            M::DigestAlgorithmMissing,
            M::DigestAlgorithm { value: s("MD5") },
            M::ForbiddenChar { char: '\u{1}' },
            M::MimeType { value: s("pdf") },
            M::DateShape {
                value: s("2026/11/20"),
            },
            M::DateNotCalendar {
                value: s("2026-02-30"),
            },
            M::TimeZhejiang {
                value: s("2026-11-20T09:30:00+08:00"),
            },
            M::TimeShanghai {
                value: s("2026-11-20 09:30:00"),
            },
            M::TimeOfDay {
                value: s("2026-11-20T24:30:00+08:00"),
            },
            M::TimeFraction {
                value: s("2026-11-20T09:30:00.5+08:00"),
            },
            M::TimeNoOffset {
                value: s("2026-11-20T09:30:00"),
            },
            M::TimeOffsetImpossible {
                value: s("2026-11-20T09:30:00+24:00"),
                offset: s("+24:00"),
            },
            M::TimeOffsetTooWide {
                value: s("2026-11-20T09:30:00+18:30"),
                offset: s("+18:30"),
            },
            M::TimeOffsetUnreadable {
                value: s("2026-11-20T09:30:00+0800"),
                offset: s("+0800"),
            },
            M::BooleanZhejiang { value: s("true") },
            M::BooleanShanghai { value: s("1") },
            M::ResultZhejiang { value: s("4") },
            M::ResultShanghai {
                value: s("APPROVED"),
            },
            M::CurrencyNotCny { value: s("USD") },
            M::CodeUnknown {
                table: TableName::of::<crate::codes::Material>(),
                value: s("01"),
                expected: s("M01, M02, M03, M04, M05, M06, M99"),
            },
            M::CodeZhejiangSpelling {
                table: TableName::of::<crate::codes::IdType>(),
                value: s("111"),
                name: s("居民身份证"),
                shanghai: s("01"),
            },
            M::CodeNameMismatch {
                table: TableName::of::<crate::codes::MainFormat>(),
                name: s("餐饮服务"),
                code: s("CY"),
                expected: s("餐饮服务经营者"),
            },
            M::ListedTwice { value: s("C05") },
            M::Required,
            M::Empty,
            M::EmptyArray,
            M::WrongType {
                expected: JsonType::String,
                got: JsonType::Number,
            },
            M::Duplicate,
            M::ExtensionNameless,
            M::ExtensionReservedKzxx { prefix: "~zj:" },
            M::FieldNameless,
            M::FieldRepeated { name: s("zj:lsh") },
            M::FieldReserved {
                name: s("~zj:sqbh"),
            },
            M::TooManyExtensions { max: 1000 },
            M::ExtensionsTooLarge {
                kib: 256,
                max_bytes: 262144,
            },
            M::TooManyMaterials { max: 200 },
            M::JsonTooDeep { max: 32 },
            M::JsonTooManyFields {
                max: 1016,
                max_extensions: 1000,
            },
            M::TooManyAttributes { max: 16 },
            M::TooManyElements { max: 5000 },
            M::XmlTooDeep { max: 16 },
            M::JsonNotObject {
                got: JsonType::Array,
            },
            M::JsonInvalid {
                detail: s("EOF while parsing an object at line 1 column 12"),
            },
            M::XmlUnknownDocument {
                name: s("RemoteApplication"),
            },
            M::DocumentIncomplete,
            M::XmlUnexpectedText {
                text: s("x"),
                element: s("Applicant"),
            },
            M::XmlUnknownElement {
                name: s("Note"),
                parent: s("Premises"),
                expected: s("DivisionCode, Address, Area"),
            },
            M::XmlRepeated { name: s("ApplyNo") },
            M::XmlOutOfOrder {
                name: s("ItemCode"),
                before: s("Applicant"),
            },
            M::XmlMoreUnknown {
                count: 12,
                parent: s("Extensions"),
                reported: 20,
            },
            M::XmlMissingElement { name: s("Area") },
            M::XmlUnknownAttribute {
                name: s("lang"),
                element: s("Address"),
            },
            M::XmlElementInText {
                name: s("b"),
                parent: s("Name"),
            },
            M::XmlEmpty { name: s("Clerk") },
            M::XmlMissingAttribute {
                name: s("region"),
                element: s("Target"),
            },
            M::OfficeUnnamed,
            M::AuthorityEmpty,
            M::XmlUtf16,
            M::XmlBomGb18030,
            M::XmlBadGb18030,
            M::XmlEncoding { value: s("GBK") },
            M::XmlBadUtf8 { byte: 212 },
            M::XmlNotWellFormed {
                byte: 120,
                detail: s("expected `</Name>`, but `</Applicant>` was found"),
            },
            M::XmlDoctype,
            M::XmlAfterRoot {
                name: s("RemoteApply"),
            },
            M::XmlNamespace {
                name: s("Note"),
                why: Namespace::Other(s("urn:example")),
                expected: "urn:sh-ywtb:remote-accept:1.3",
            },
            M::XmlEndWithoutStart,
            M::XmlTextOutsideRoot,
            M::XmlBadCharacterData {
                detail: s("unknown entity `nbsp`"),
            },
            M::XmlCdataOutsideRoot,
            M::XmlUnclosed {
                name: s("RemoteApply"),
            },
            M::XmlNoRoot,
            M::XmlMoreForbidden { reported: 20 },
            M::XmlBadAttribute {
                detail: s("duplicated attribute `code`"),
            },
            M::XmlPrefixedAttribute,
            M::XmlBadAttributeValue {
                detail: s("unknown entity `nbsp`"),
            },
            M::WriteControlChars,
            M::WriteDecisionExtensionDropped,
            M::RequiredForItem { item: item() },
            M::UsccRequiredForItem { item: item() },
            M::OnlyForRegistration { item: item() },
            M::UsccAbsentForRegistration {
                item: s("个体工商户设立登记"),
            },
            M::OnlyForFood {
                item: s("个体工商户设立登记"),
            },
            M::EntityNotForItem {
                entity: s("个体工商户"),
                item: s("有限责任公司设立登记"),
            },
            M::NoJurisdiction {
                target: s("310116"),
                target_name: s("上海市金山区"),
                premises: s("330482"),
                premises_name: s("浙江省嘉兴市平湖市"),
            },
            M::LicenceRequired,
            M::LicenceAbsent {
                outcome: Outcome::Refused,
            },
            M::ValidityReversed {
                from: s("2026-11-24"),
                to: s("2021-11-23"),
            },
            M::WrongKind {
                expected: DocKind::Application,
                got: DocKind::Decision,
            },
            M::OfficeOutsideProvince,
            M::OwnProvince { region: 330482 },
            M::NoRoute { region: 340104 },
            M::RoutesBack { region: 310116 },
            M::DuplicateReceived {
                receipt: s("TB-20261120-000007"),
            },
            M::GatewayInternal,
            M::WrongEndpoint { platform: s("zj") },
            M::UnknownApplication {
                number: s("TB-20261120-000099"),
            },
            M::DecisionInProgress,
            M::NoClientCertificate,
            M::SignatureRefused {
                detail: s("Signature: signature does not verify"),
            },
            M::RequestTimeout { limit: s("30 s") },
            M::SandboxDown,
            M::HttpTooLarge { limit: s("16 MiB") },
            M::HttpTooSlow { limit: s("20 s") },
            M::HttpFraming {
                detail: s("invalid chunk size"),
            },
            M::HttpContentType {
                expected: "application/xml",
                got: Some(s("text/plain")),
            },
            M::HttpMethod { method: s("GET") },
            M::HttpUnknownPath {
                path: s("/api/kstb/v2/sqxx2"),
            },
            M::PageOutsideProvince {
                name: s("上海市金山区"),
                province: s("浙江省"),
            },
            M::PageNotObject,
            M::PageNotApplication,
            M::PageAttachmentsTooLarge {
                mib: 23,
                max_mib: 20,
            },
        ]
    }

    /// The stable code (`decimal.shape`): what a partner maps, whatever the language.
    pub fn code(&self) -> &'static str {
        match self {
            M::FullWidth { .. } => "id.full-width",
            M::UsccLength { .. } => "uscc.length",
            M::UsccLowercase { .. } => "uscc.lowercase",
            M::UsccBadChar { .. } => "uscc.char",
            M::UsccCheck { .. } => "uscc.check",
            M::IdLength { .. } => "resident-id.length",
            M::IdShape => "resident-id.shape",
            M::IdBirthDate { .. } => "resident-id.birth-date",
            M::IdCheck { .. } => "resident-id.check",
            M::IdOtherShape { .. } => "id.shape",
            M::MobileShape { .. } => "mobile.shape",
            M::NumberLength { .. } => "number.length",
            M::NumberBadChar { .. } => "number.char",
            M::DivisionShape { .. } => "division.shape",
            M::DivisionFormer { .. } => "division.former",
            M::DivisionUnknown { .. } => "division.unknown",
            M::LicenceNoShape { .. } => "licence-no.shape",
            M::LicenceNoCheck { .. } => "licence-no.check",
            M::LicenceNoEmpty => "licence-no.empty",
            M::DecimalShape { .. } => "decimal.shape",
            M::DecimalTooFine { .. } => "decimal.too-fine",
            M::DecimalTooLarge { .. } => "decimal.too-large",
            M::TwoDecimalsShape { .. } => "decimal.two-shape",
            M::TwoDecimalsTooFine { .. } => "decimal.two-too-fine",
            M::Base64Padding { .. } => "base64.padding",
            M::Base64Invalid { .. } => "base64.invalid",
            M::DigestMismatch { .. } => "digest.mismatch",
            M::DigestHex { .. } => "digest.hex",
            M::DigestLooksHex { .. } => "digest.looks-hex",
            M::DigestBase64 { .. } => "digest.base64",
            M::DigestLength { .. } => "digest.length",
            M::DigestAlgorithmMissing => "digest.algorithm-missing",
            M::DigestAlgorithm { .. } => "digest.algorithm",
            M::ForbiddenChar { .. } => "text.forbidden-char",
            M::MimeType { .. } => "mime.shape",
            M::DateShape { .. } => "date.shape",
            M::DateNotCalendar { .. } => "date.calendar",
            M::TimeZhejiang { .. } => "time.zj-shape",
            M::TimeShanghai { .. } => "time.sh-shape",
            M::TimeOfDay { .. } => "time.of-day",
            M::TimeFraction { .. } => "time.fraction",
            M::TimeNoOffset { .. } => "time.no-offset",
            M::TimeOffsetImpossible { .. } => "time.offset-impossible",
            M::TimeOffsetTooWide { .. } => "time.offset-too-wide",
            M::TimeOffsetUnreadable { .. } => "time.offset-unreadable",
            M::BooleanZhejiang { .. } => "boolean.zj",
            M::BooleanShanghai { .. } => "boolean.sh",
            M::ResultZhejiang { .. } => "result.zj",
            M::ResultShanghai { .. } => "result.sh",
            M::CurrencyNotCny { .. } => "currency.not-cny",
            M::CodeUnknown { .. } => "code.unknown",
            M::CodeZhejiangSpelling { .. } => "code.zj-spelling",
            M::CodeNameMismatch { .. } => "code.name-mismatch",
            M::ListedTwice { .. } => "code.listed-twice",
            M::Required => "field.required",
            M::Empty => "field.empty",
            M::EmptyArray => "field.empty-array",
            M::WrongType { .. } => "field.wrong-type",
            M::Duplicate => "field.duplicate",
            M::ExtensionNameless => "extension.nameless",
            M::ExtensionReservedKzxx { .. } => "extension.reserved",
            M::FieldNameless => "extension.field-nameless",
            M::FieldRepeated { .. } => "extension.field-repeated",
            M::FieldReserved { .. } => "extension.field-reserved",
            M::TooManyExtensions { .. } => "limit.extensions",
            M::ExtensionsTooLarge { .. } => "limit.extension-bytes",
            M::TooManyMaterials { .. } => "limit.materials",
            M::JsonTooDeep { .. } => "limit.json-depth",
            M::JsonTooManyFields { .. } => "limit.json-fields",
            M::TooManyAttributes { .. } => "limit.xml-attributes",
            M::TooManyElements { .. } => "limit.xml-elements",
            M::XmlTooDeep { .. } => "limit.xml-depth",
            M::JsonNotObject { .. } => "json.not-object",
            M::JsonInvalid { .. } => "json.invalid",
            M::XmlUnknownDocument { .. } => "xml.unknown-document",
            M::DocumentIncomplete => "document.incomplete",
            M::XmlUnexpectedText { .. } => "xml.unexpected-text",
            M::XmlUnknownElement { .. } => "xml.unknown-element",
            M::XmlRepeated { .. } => "xml.repeated",
            M::XmlOutOfOrder { .. } => "xml.out-of-order",
            M::XmlMoreUnknown { .. } => "xml.more-unknown",
            M::XmlMissingElement { .. } => "xml.missing-element",
            M::XmlUnknownAttribute { .. } => "xml.unknown-attribute",
            M::XmlElementInText { .. } => "xml.element-in-text",
            M::XmlEmpty { .. } => "xml.empty",
            M::XmlMissingAttribute { .. } => "xml.missing-attribute",
            M::OfficeUnnamed => "office.unnamed",
            M::AuthorityEmpty => "authority.empty",
            M::XmlUtf16 => "xml.utf16",
            M::XmlBomGb18030 => "xml.bom-gb18030",
            M::XmlBadGb18030 => "xml.bad-gb18030",
            M::XmlEncoding { .. } => "xml.encoding",
            M::XmlBadUtf8 { .. } => "xml.bad-utf8",
            M::XmlNotWellFormed { .. } => "xml.not-well-formed",
            M::XmlDoctype => "xml.doctype",
            M::XmlAfterRoot { .. } => "xml.after-root",
            M::XmlNamespace { .. } => "xml.namespace",
            M::XmlEndWithoutStart => "xml.end-without-start",
            M::XmlTextOutsideRoot => "xml.text-outside-root",
            M::XmlBadCharacterData { .. } => "xml.bad-character-data",
            M::XmlCdataOutsideRoot => "xml.cdata-outside-root",
            M::XmlUnclosed { .. } => "xml.unclosed",
            M::XmlNoRoot => "xml.no-root",
            M::XmlMoreForbidden { .. } => "xml.more-forbidden",
            M::XmlBadAttribute { .. } => "xml.bad-attribute",
            M::XmlPrefixedAttribute => "xml.prefixed-attribute",
            M::XmlBadAttributeValue { .. } => "xml.bad-attribute-value",
            M::WriteControlChars => "write.control-chars",
            M::WriteDecisionExtensionDropped => "write.decision-extensions",
            M::RequiredForItem { .. } => "rule.required-for-item",
            M::UsccRequiredForItem { .. } => "rule.uscc-required",
            M::OnlyForRegistration { .. } => "rule.only-registration",
            M::UsccAbsentForRegistration { .. } => "rule.uscc-absent",
            M::OnlyForFood { .. } => "rule.only-food",
            M::EntityNotForItem { .. } => "rule.entity-not-for-item",
            M::NoJurisdiction { .. } => "rule.no-jurisdiction",
            M::LicenceRequired => "rule.licence-required",
            M::LicenceAbsent { .. } => "rule.licence-absent",
            M::ValidityReversed { .. } => "rule.validity-reversed",
            M::WrongKind { .. } => "intake.wrong-kind",
            M::OfficeOutsideProvince => "route.office-outside-province",
            M::OwnProvince { .. } => "route.own-province",
            M::NoRoute { .. } => "route.no-route",
            M::RoutesBack { .. } => "route.routes-back",
            M::DuplicateReceived { .. } => "intake.duplicate",
            M::GatewayInternal => "gateway.internal",
            M::WrongEndpoint { .. } => "gateway.wrong-endpoint",
            M::UnknownApplication { .. } => "gateway.unknown-application",
            M::DecisionInProgress => "gateway.decision-in-progress",
            M::NoClientCertificate => "gateway.no-client-certificate",
            M::SignatureRefused { .. } => "gateway.signature-refused",
            M::RequestTimeout { .. } => "gateway.timeout",
            M::SandboxDown => "sandbox.down",
            M::HttpTooLarge { .. } => "http.too-large",
            M::HttpTooSlow { .. } => "http.too-slow",
            M::HttpFraming { .. } => "http.framing",
            M::HttpContentType { .. } => "http.content-type",
            M::HttpMethod { .. } => "http.method",
            M::HttpUnknownPath { .. } => "http.unknown-path",
            M::PageOutsideProvince { .. } => "page.outside-province",
            M::PageNotObject => "page.not-object",
            M::PageNotApplication => "page.not-application",
            M::PageAttachmentsTooLarge { .. } => "page.attachments-too-large",
        }
    }

    /// The text in `lang`, without a path.
    pub fn render(&self, lang: Lang) -> String {
        match lang {
            Lang::Zh => self.zh(),
            Lang::En => self.en(),
        }
    }

    /// Simplified Chinese.
    fn zh(&self) -> String {
        let z = Lang::Zh;
        match self {
            M::FullWidth { subject, char } => format!(
                "{}含全角字符“{char}”，请用半角（ASCII）数字和字母",
                subject.render(z)
            ),
            M::UsccLength { value, got } => {
                format!("统一社会信用代码应为 18 位，“{value}”为 {got} 位")
            }
            M::UsccLowercase { char, position } => {
                format!("统一社会信用代码应使用大写字母（第 {position} 位为“{char}”）")
            }
            M::UsccBadChar { char, position } => format!(
                "统一社会信用代码第 {position} 位的“{char}”不允许使用（GB 32100 只用 0-9 和除 I、O、S、V、Z 以外的大写字母）"
            ),
            M::UsccCheck {
                value,
                got,
                expected,
            } => format!(
                "统一社会信用代码“{value}”的校验码为“{got}”，应为“{expected}”（GB 32100）：可能有字符录入错误"
            ),
            M::IdLength { got } => format!("居民身份证号码应为 18 位，实为 {got} 位"),
            M::IdShape => "居民身份证号码应为 17 位数字加 1 位校验码（0-9 或 X）".to_owned(),
            M::IdBirthDate { birth } => {
                format!("居民身份证号码中的出生日期“{birth}”（第 7-14 位）不存在")
            }
            M::IdCheck { got, expected } => format!(
                "居民身份证号码的校验码为“{got}”，应为“{expected}”（GB 11643）：可能有数字录入错误"
            ),
            M::IdOtherShape { kind } => {
                format!("{kind}号码应为 5-32 位半角字母、数字或连字符")
            }
            M::MobileShape { value } => {
                format!("手机号码应为以 1 开头的 11 位数字，实为“{value}”")
            }
            M::NumberLength { max, got } => {
                format!("申请编号应为 1-{max} 个字符，实为 {got} 个")
            }
            M::NumberBadChar { char } => {
                format!("申请编号只能包含 0-9、A-Z、a-z 和“-”，出现了“{char}”")
            }
            M::DivisionShape { value } => {
                format!("行政区划代码应为 6 位数字（GB/T 2260），实为“{value}”")
            }
            M::DivisionFormer {
                code,
                name,
                changed,
                successor,
                successor_name,
            } => format!(
                "{code:06}（{name}）已不是现行 GB/T 2260 代码：自 {changed} 起为 {successor:06}（{successor_name}）"
            ),
            M::DivisionUnknown { value } => {
                format!("“{value}”不是已知的 GB/T 2260 县级行政区划代码")
            }
            M::LicenceNoShape { value } => {
                format!("食品经营许可证编号应为“JY”加 14 位数字，实为“{value}”")
            }
            M::LicenceNoCheck {
                value,
                got,
                expected,
            } => format!(
                "许可证编号 {value} 的校验位为 {got}，按 ISO 7064 MOD 11,10 应为 {expected}；请核对编号"
            ),
            M::LicenceNoEmpty => "证照编号不能为空".to_owned(),
            M::DecimalShape { value, unit } => format!(
                "“{value}”不是以 {unit} 计的数值（数字，可带小数点和小数部分）"
            ),
            M::DecimalTooFine {
                value,
                digits,
                unit,
                max,
            } => format!(
                "“{value}”有 {digits} 位小数；{unit} 最多 {max} 位小数，更细的数额无法精确表示"
            ),
            M::DecimalTooLarge { value, unit } => format!("“{value}”{unit} 数值过大"),
            M::TwoDecimalsShape {
                value,
                unit,
                example,
            } => format!(
                "“{value}”不是以 {unit} 计的数额：应为恰好 2 位小数的数字，例如 {example}"
            ),
            M::TwoDecimalsTooFine {
                value,
                digits,
                unit,
            } => format!(
                "“{value}”有 {digits} 位小数；{unit} 应恰好写 2 位（不予四舍五入，予以退回）"
            ),
            M::Base64Padding { len } => format!(
                "内容不是带填充的 base64：{len} 个字符不是 4 的倍数"
            ),
            M::Base64Invalid { at, detail } => {
                format!("内容在第 {at} 个字符附近不是有效的 base64：{detail}")
            }
            M::DigestMismatch { actual, claimed } => format!(
                "与内容不符：内容的 SHA-256 为 {actual}（十六进制），文档填写的是 {claimed}"
            ),
            M::DigestHex { got } => format!(
                "应为 64 位十六进制数字的 SHA-256，实为 {got} 个字符"
            ),
            M::DigestLooksHex { value } => format!(
                "“{value}”看起来是十六进制摘要；上海平台的 SHA-256 用 base64 书写（44 个字符）"
            ),
            M::DigestBase64 { detail } => format!("摘要不是有效的 base64：{detail}"),
            M::DigestLength { got } => {
                format!("摘要解码后为 {got} 字节；SHA-256 摘要为 32 字节")
            }
            M::DigestAlgorithmMissing => {
                "<Digest> 缺少必填属性 algorithm：请写 algorithm=\"SHA-256\"".to_owned()
            }
            M::DigestAlgorithm { value } => {
                format!("不接受摘要算法“{value}”：只接受 SHA-256")
            }
            M::ForbiddenChar { char } => format!(
                "不允许字符 U+{:04X}：XML 1.0 无法书写该字符（不在其 Char 产生式内），两个平台的文档都不能包含它",
                u32::from(*char)
            ),
            M::MimeType { value } => format!(
                "“{value}”不是 MIME 类型（类型/子类型，例如 application/pdf）"
            ),
            M::DateShape { value } => format!("“{value}”不是日期：应写作 yyyy-MM-dd"),
            M::DateNotCalendar { value } => format!("“{value}”不是存在的日期"),
            M::TimeZhejiang { value } => format!(
                "“{value}”不是“yyyy-MM-dd HH:mm:ss”格式的时间（北京时间，不带时区）"
            ),
            M::TimeShanghai { value } => {
                format!("“{value}”不是时间：应写作 yyyy-MM-ddTHH:mm:ss+08:00")
            }
            M::TimeOfDay { value } => format!("“{value}”的时刻不存在"),
            M::TimeFraction { value } => format!(
                "“{value}”带有秒的小数部分，浙江平台的时间无法携带：请精确到整秒"
            ),
            M::TimeNoOffset { value } => format!(
                "“{value}”没有时区偏移：上海平台的时间须带偏移，例如 {value}+08:00"
            ),
            M::TimeOffsetImpossible { value, offset } => {
                format!("“{value}”的时区偏移“{offset}”不存在")
            }
            M::TimeOffsetTooWide { value, offset } => format!(
                "“{value}”的时区偏移“{offset}”超过 18 小时，没有时区使用，账本也无法记录：请写 +08:00"
            ),
            M::TimeOffsetUnreadable { value, offset } => format!(
                "“{value}”的时区偏移“{offset}”无法识别：请写 +08:00 或 Z"
            ),
            M::BooleanZhejiang { value } => {
                format!("应为 \"1\" 或 \"0\"，实为“{value}”")
            }
            M::BooleanShanghai { value } => {
                format!("“{value}”不是布尔值：应写 true 或 false")
            }
            M::ResultZhejiang { value } => format!(
                "应为 \"1\"（准予）、\"2\"（不予）或 \"3\"（补正），实为“{value}”"
            ),
            M::ResultShanghai { value } => format!(
                "审批结果“{value}”不是 GRANTED、REFUSED、CORRECTION 之一"
            ),
            M::CurrencyNotCny { value } => format!(
                "不接受币种“{value}”：注册资本以元计，currency=\"CNY\""
            ),
            M::CodeUnknown {
                table,
                value,
                expected,
            } => format!("未知的{}“{value}”；应为以下之一：{expected}", table.zh),
            M::CodeZhejiangSpelling {
                table,
                value,
                name,
                shanghai,
            } => format!(
                "“{value}”是浙江平台表示“{name}”的{}；上海平台写作“{shanghai}”",
                table.zh
            ),
            M::CodeNameMismatch {
                table,
                name,
                code,
                expected,
            } => format!(
                "名称“{name}”与{} {code}（{expected}）不符；以代码为准",
                table.zh
            ),
            M::ListedTwice { value } => format!("“{value}”重复列出"),
            M::Required => "必填".to_owned(),
            M::Empty => "不能为空".to_owned(),
            M::EmptyArray => "至少需要一项".to_owned(),
            M::WrongType { expected, got } => {
                format!("应为{}，实为{}", expected.render(z), got.render(z))
            }
            M::Duplicate => "重复出现".to_owned(),
            M::ExtensionNameless => {
                "扩展项须有名称：上海平台的 Field 不能没有名称".to_owned()
            }
            M::ExtensionReservedKzxx { prefix } => format!(
                "以“{prefix}”开头的名称为网关自用（经上海格式转送的浙江字段），不能作为 kzxx 条目"
            ),
            M::FieldNameless => "Field 须有名称".to_owned(),
            M::FieldRepeated { name } => format!("Field“{name}”出现了不止一次"),
            M::FieldReserved { name } => format!(
                "Field“{name}”：以“~zj:”开头的名称为网关自用，用于上海格式所缺的浙江字段，而此名称指向浙江接口已定义的字段"
            ),
            M::TooManyExtensions { max } => format!(
                "扩展条目（未知字段和扩展区条目）超过 {max} 条；上限为 {max} 条"
            ),
            M::ExtensionsTooLarge { kib, max_bytes } => format!(
                "扩展内容（未知字段和扩展区条目）合计超过 {kib} KiB；上限为 {max_bytes} 字节"
            ),
            M::TooManyMaterials { max } => format!("材料超过 {max} 份；上限为 {max} 份"),
            M::JsonTooDeep { max } => format!("嵌套超过 {max} 层；上限为 {max} 层"),
            M::JsonTooManyFields {
                max,
                max_extensions,
            } => format!(
                "一个对象超过 {max} 个字段（或一个数组超过 {max} 项）：未知字段超过上限 {max_extensions} 个，或有重复字段"
            ),
            M::TooManyAttributes { max } => {
                format!("一个元素的属性超过 {max} 个；上限为 {max} 个")
            }
            M::TooManyElements { max } => {
                format!("文档的元素超过 {max} 个；上限为 {max} 个")
            }
            M::XmlTooDeep { max } => format!("元素嵌套超过 {max} 层"),
            M::JsonNotObject { got } => {
                format!("请求体应为 JSON 对象，实为{}", got.render(z))
            }
            M::JsonInvalid { detail } => format!("请求体不是有效的 JSON：{detail}"),
            M::XmlUnknownDocument { name } => format!(
                "未知的文档 <{name}>：上海平台发送 RemoteApply 或 RemoteDecision"
            ),
            M::DocumentIncomplete => "文档不完整".to_owned(),
            M::XmlUnexpectedText { text, element } => {
                format!("<{element}> 只能包含元素，却出现了文本“{text}”")
            }
            M::XmlUnknownElement {
                name,
                parent,
                expected,
            } if expected.is_empty() => {
                format!("未知元素 <{name}>：<{parent}> 不包含子元素")
            }
            M::XmlUnknownElement {
                name,
                parent,
                expected,
            } => format!("未知元素 <{name}>：<{parent}> 包含 {expected}"),
            M::XmlRepeated { name } => format!("<{name}> 出现了不止一次；只允许一次"),
            M::XmlOutOfOrder { name, before } => {
                format!("<{name}> 顺序有误：应在 <{before}> 之前")
            }
            M::XmlMoreUnknown {
                count,
                parent,
                reported,
            } => format!("<{parent}> 中另有 {count} 个未知元素（只列出前 {reported} 个）"),
            M::XmlMissingElement { name } => format!("缺少必填元素 <{name}>"),
            M::XmlUnknownAttribute { name, element } => {
                format!("<{element}> 上有未知属性“{name}”")
            }
            M::XmlElementInText { name, parent } => {
                format!("<{parent}> 只能包含文本，却出现了元素 <{name}>")
            }
            M::XmlEmpty { name } => format!("<{name}> 不能为空"),
            M::XmlMissingAttribute { name, element } => {
                format!("<{element}> 缺少必填属性“{name}”")
            }
            M::OfficeUnnamed => "<Office> 须写明受理机构名称".to_owned(),
            M::AuthorityEmpty => "须写明审批机关".to_owned(),
            M::XmlUtf16 => {
                "文档为 UTF-16（有字节顺序标记）；上海平台的文档为 UTF-8 或 GB18030".to_owned()
            }
            M::XmlBomGb18030 => {
                "文档以 UTF-8 字节顺序标记开头，却声明为 GB18030".to_owned()
            }
            M::XmlBadGb18030 => "文档声明为 GB18030，却含有无效的 GB18030 字节".to_owned(),
            M::XmlEncoding { value } => format!(
                "不接受编码“{value}”：上海平台的文档为 UTF-8 或 GB18030"
            ),
            M::XmlBadUtf8 { byte } => format!(
                "文档声明为 UTF-8，但第 {byte} 字节不是有效的 UTF-8；若为 GB18030 请声明 encoding=\"GB18030\""
            ),
            M::XmlNotWellFormed { byte, detail } => {
                format!("文档在第 {byte} 字节附近不是格式正确的 XML：{detail}")
            }
            M::XmlDoctype => {
                "不接受 DOCTYPE：上海平台的文档没有 DTD，实体声明可无限展开".to_owned()
            }
            M::XmlAfterRoot { name } => format!("根元素之后还有内容：<{name}>"),
            M::XmlNamespace {
                name,
                why,
                expected,
            } => {
                let why = match why {
                    Namespace::Other(uri) => format!("属于命名空间“{uri}”"),
                    Namespace::None => "不属于任何命名空间".to_owned(),
                    Namespace::UndeclaredPrefix(p) => format!("使用了未声明的前缀“{p}”"),
                };
                format!("元素 <{name}> {why}；上海平台的文档使用命名空间 {expected}")
            }
            M::XmlEndWithoutStart => "出现了没有开始标签的结束标签".to_owned(),
            M::XmlTextOutsideRoot => "根元素之外有文本".to_owned(),
            M::XmlBadCharacterData { detail } => format!(
                "字符数据有误：{detail}（只允许五个预定义实体和字符引用）"
            ),
            M::XmlCdataOutsideRoot => "根元素之外有 CDATA".to_owned(),
            M::XmlUnclosed { name } => format!("文档在 </{name}> 之前结束"),
            M::XmlNoRoot => "文档没有根元素".to_owned(),
            M::XmlMoreForbidden { reported } => format!(
                "还有其他文本含有 XML 1.0 Char 产生式以外的字符（只列出前 {reported} 处）"
            ),
            M::XmlBadAttribute { detail } => format!("属性有误：{detail}"),
            M::XmlPrefixedAttribute => "上海平台文档的属性不带前缀".to_owned(),
            M::XmlBadAttributeValue { detail } => format!("属性值有误：{detail}"),
            M::WriteControlChars => {
                "含有 XML 无法携带的控制字符；已写作 U+FFFD".to_owned()
            }
            M::WriteDecisionExtensionDropped => {
                "RemoteDecision 没有扩展区：未转送到上海平台（原文档保留该内容）".to_owned()
            }
            M::RequiredForItem { item } => format!("申请{item}须填写此项"),
            M::UsccRequiredForItem { item } => {
                format!("申请{item}须填写经营者的统一社会信用代码")
            }
            M::OnlyForRegistration { item } => {
                format!("此项仅设立登记事项填写，申请{item}不填")
            }
            M::UsccAbsentForRegistration { item } => format!(
                "申请{item}不填统一社会信用代码：该代码由登记赋予"
            ),
            M::OnlyForFood { item } => {
                format!("此项仅食品经营许可事项填写，申请{item}不填")
            }
            M::EntityNotForItem { entity, item } => {
                format!("{entity}不能申请{item}")
            }
            M::NoJurisdiction {
                target,
                target_name,
                premises,
                premises_name,
            } => format!(
                "{target}（{target_name}）对位于 {premises}（{premises_name}）的经营场所没有管辖权"
            ),
            M::LicenceRequired => "准予许可时必须附证照".to_owned(),
            M::LicenceAbsent { outcome: o } => format!(
                "审批结果为{}时不应附证照：不发证",
                outcome(*o, z)
            ),
            M::ValidityReversed { from, to } => {
                format!("有效期止（{to}）早于有效期起（{from}）")
            }
            M::WrongKind { expected, got } => format!(
                "此接口接收{}，收到的是{}",
                expected.render(z),
                got.render(z)
            ),
            M::OfficeOutsideProvince => "受理机构不在本平台所在省份".to_owned(),
            M::OwnProvince { region } => {
                format!("目标区域 {region:06} 在本省，不属于跨省通办")
            }
            M::NoRoute { region } => format!(
                "目标区域 {region:06} 没有对接的审批平台，网关无法转送"
            ),
            M::RoutesBack { region } => {
                format!("目标区域 {region:06} 由本省平台审批，不属于跨省通办")
            }
            M::DuplicateReceived { receipt } => {
                format!("申请编号重复：已收到，收件编号 {receipt}")
            }
            M::GatewayInternal => "网关内部错误，请稍后重试".to_owned(),
            M::WrongEndpoint { platform } => format!("此接口仅供{platform}平台调用"),
            M::UnknownApplication { number } => {
                format!("没有转送给本平台的申请 {number}")
            }
            M::DecisionInProgress => "该编号的审批结果正在处理中，请稍后重试".to_owned(),
            M::NoClientCertificate => "没有客户端证书".to_owned(),
            M::SignatureRefused { detail } => format!("报文签名未通过验证：{detail}"),
            M::RequestTimeout { limit } => {
                format!("请求未在时限 {limit} 内完成，请稍后重试")
            }
            M::SandboxDown => "模拟平台已停止服务".to_owned(),
            M::HttpTooLarge { limit } => format!("请求体超过 {limit}"),
            M::HttpTooSlow { limit } => format!("请求体未在时限 {limit} 内收完"),
            M::HttpFraming { detail } => format!("请求体格式错误：{detail}"),
            M::HttpContentType { expected, got } => match got {
                Some(got) => format!("Content-Type 应为 {expected}（实为 {got}）"),
                None => format!("Content-Type 应为 {expected}（未发送）"),
            },
            M::HttpMethod { method } => format!("不允许方法 {method}：请用 POST"),
            M::HttpUnknownPath { path } => format!("{path} 没有接口"),
            M::PageOutsideProvince { name, province } => {
                format!("{name}不在{province}：跨省通办只受理{province}的申请")
            }
            M::PageNotObject => "请求不是 JSON 对象".to_owned(),
            M::PageNotApplication => "必须是申请，不是审批结果".to_owned(),
            M::PageAttachmentsTooLarge { mib, max_mib } => {
                format!("材料合计 {mib} MB，超过 {max_mib} MB：请压缩扫描件")
            }
        }
    }

    /// English, for logs (and the CLI when asked).
    fn en(&self) -> String {
        let e = Lang::En;
        match self {
            M::FullWidth { subject, char } => format!(
                "{} contains the full-width character '{char}'; write ASCII digits and letters (half-width, 半角)",
                subject.render(e)
            ),
            M::UsccLength { value, got } => format!(
                "统一社会信用代码 must be 18 characters, got {got} ('{value}')"
            ),
            M::UsccLowercase { char, position } => format!(
                "统一社会信用代码 must be written in capitals ('{char}' at position {position})"
            ),
            M::UsccBadChar { char, position } => format!(
                "'{char}' at position {position} is not allowed in a 统一社会信用代码 (GB 32100 uses 0-9 and A-Z without I, O, S, V, Z)"
            ),
            M::UsccCheck {
                value,
                got,
                expected,
            } => format!(
                "check character of 统一社会信用代码 '{value}' is '{got}', expected '{expected}' (GB 32100): a character was probably mistyped"
            ),
            M::IdLength { got } => {
                format!("居民身份证号码 must be 18 characters, got {got}")
            }
            M::IdShape => {
                "居民身份证号码 must be 17 digits and a check character (0-9 or X)".to_owned()
            }
            M::IdBirthDate { birth } => format!(
                "居民身份证号码 has an impossible birth date '{birth}' (digits 7-14)"
            ),
            M::IdCheck { got, expected } => format!(
                "check digit of 居民身份证号码 is '{got}', expected '{expected}' (GB 11643): a digit was probably mistyped"
            ),
            M::IdOtherShape { kind } => {
                format!("{kind} number must be 5-32 ASCII letters, digits or hyphens")
            }
            M::MobileShape { value } => {
                format!("mobile number must be 11 digits starting with 1, got '{value}'")
            }
            M::NumberLength { max, got } => {
                format!("application number must be 1-{max} characters, got {got}")
            }
            M::NumberBadChar { char } => format!(
                "application number may hold only 0-9, A-Z, a-z and '-', found '{char}'"
            ),
            M::DivisionShape { value } => {
                format!("division code must be 6 digits (GB/T 2260), got '{value}'")
            }
            M::DivisionFormer {
                code,
                name,
                changed,
                successor,
                successor_name,
            } => format!(
                "{code:06} ({name}) is no longer a GB/T 2260 code: since {changed} it is {successor:06} ({successor_name})"
            ),
            M::DivisionUnknown { value } => {
                format!("{value} is not a known GB/T 2260 county-level code")
            }
            M::LicenceNoShape { value } => format!(
                "food business licence number must be 'JY' followed by 14 digits, got '{value}'"
            ),
            M::LicenceNoCheck {
                value,
                got,
                expected,
            } => format!(
                "check digit of licence number {value} is {got}, ISO 7064 MOD 11,10 gives {expected}; please confirm the number"
            ),
            M::LicenceNoEmpty => "licence number must not be empty".to_owned(),
            M::DecimalShape { value, unit } => format!(
                "'{value}' is not a decimal number of {unit} (digits with an optional '.' and fraction)"
            ),
            M::DecimalTooFine {
                value,
                digits,
                unit,
                max,
            } => format!(
                "'{value}' has {digits} fraction digits; {unit} allow at most {max}, a finer amount cannot be represented exactly"
            ),
            M::DecimalTooLarge { value, unit } => format!("'{value}' {unit} is too large"),
            M::TwoDecimalsShape {
                value,
                unit,
                example,
            } => format!(
                "'{value}' is not an amount of {unit}: write digits with exactly 2 fraction digits, e.g. {example}"
            ),
            M::TwoDecimalsTooFine {
                value,
                digits,
                unit,
            } => format!(
                "'{value}' has {digits} fraction digits; {unit} are written with exactly 2 (refused, not rounded)"
            ),
            M::Base64Padding { len } => format!(
                "content is not padded base64: {len} characters is not a multiple of 4"
            ),
            M::Base64Invalid { at, detail } => {
                format!("content is not valid base64 near character {at}: {detail}")
            }
            M::DigestMismatch { actual, claimed } => format!(
                "does not match the content: the content's SHA-256 is {actual} (hex), the document says {claimed}"
            ),
            M::DigestHex { got } => format!(
                "must be the SHA-256 as 64 hexadecimal digits, got {got} characters"
            ),
            M::DigestLooksHex { value } => format!(
                "'{value}' looks like a hex digest; Shanghai writes the SHA-256 in base64 (44 characters)"
            ),
            M::DigestBase64 { detail } => format!("digest is not valid base64: {detail}"),
            M::DigestLength { got } => {
                format!("digest decodes to {got} bytes; a SHA-256 digest is 32 bytes")
            }
            M::DigestAlgorithmMissing => {
                "missing required attribute 'algorithm' on <Digest>: write algorithm=\"SHA-256\""
                    .to_owned()
            }
            M::DigestAlgorithm { value } => {
                format!("digest algorithm '{value}' is not accepted: only SHA-256")
            }
            M::ForbiddenChar { char } => format!(
                "character U+{:04X} is not allowed: XML 1.0 has no way to write it (outside its Char production), so neither platform's documents may hold it",
                u32::from(*char)
            ),
            M::MimeType { value } => format!(
                "'{value}' is not a MIME type (type/subtype, e.g. application/pdf)"
            ),
            M::DateShape { value } => format!("'{value}' is not a date: write yyyy-MM-dd"),
            M::DateNotCalendar { value } => format!("'{value}' is not a calendar date"),
            M::TimeZhejiang { value } => format!(
                "'{value}' is not a time 'yyyy-MM-dd HH:mm:ss' (Beijing time, no offset)"
            ),
            M::TimeShanghai { value } => {
                format!("'{value}' is not a time: write yyyy-MM-ddTHH:mm:ss+08:00")
            }
            M::TimeOfDay { value } => format!("'{value}' is not a time of day"),
            M::TimeFraction { value } => format!(
                "'{value}' has fractional seconds, which Zhejiang's times cannot carry: send whole seconds"
            ),
            M::TimeNoOffset { value } => format!(
                "'{value}' has no offset: Shanghai times carry one, e.g. {value}+08:00"
            ),
            M::TimeOffsetImpossible { value, offset } => {
                format!("'{value}' has an impossible offset '{offset}'")
            }
            M::TimeOffsetTooWide { value, offset } => format!(
                "'{value}' has an offset '{offset}' beyond 18 hours, which no time zone uses and the ledger cannot record: write +08:00"
            ),
            M::TimeOffsetUnreadable { value, offset } => format!(
                "'{value}' has an unreadable offset '{offset}': write +08:00 or Z"
            ),
            M::BooleanZhejiang { value } => {
                format!("must be \"1\" or \"0\", got '{value}'")
            }
            M::BooleanShanghai { value } => {
                format!("'{value}' is not a boolean: write true or false")
            }
            M::ResultZhejiang { value } => format!(
                "must be \"1\" (准予), \"2\" (不予) or \"3\" (补正), got '{value}'"
            ),
            M::ResultShanghai { value } => {
                format!("result '{value}' is not one of GRANTED, REFUSED, CORRECTION")
            }
            M::CurrencyNotCny { value } => format!(
                "currency '{value}' is not accepted: registered capital is in 元, currency=\"CNY\""
            ),
            M::CodeUnknown {
                table,
                value,
                expected,
            } => format!("unknown {} '{value}'; expected one of: {expected}", table.en),
            M::CodeZhejiangSpelling {
                table,
                value,
                name,
                shanghai,
            } => format!(
                "'{value}' is Zhejiang's {} for {name}; Shanghai writes '{shanghai}'",
                table.en
            ),
            M::CodeNameMismatch {
                table,
                name,
                code,
                expected,
            } => format!(
                "name '{name}' does not match {} {code} ({expected}); the code is used",
                table.en
            ),
            M::ListedTwice { value } => format!("'{value}' is listed twice"),
            M::Required => "required".to_owned(),
            M::Empty => "must not be empty".to_owned(),
            M::EmptyArray => "must have at least one element".to_owned(),
            M::WrongType { expected, got } => {
                format!("must be {}, got {}", expected.render(e), got.render(e))
            }
            M::Duplicate => "appears more than once".to_owned(),
            M::ExtensionNameless => {
                "an extension needs a name: Shanghai's Field cannot be nameless".to_owned()
            }
            M::ExtensionReservedKzxx { prefix } => format!(
                "names starting '{prefix}' are the gateway's own (Zhejiang fields carried through Shanghai's format), not a kzxx entry"
            ),
            M::FieldNameless => "a Field needs a name".to_owned(),
            M::FieldRepeated { name } => format!("Field '{name}' is given more than once"),
            M::FieldReserved { name } => format!(
                "Field '{name}': names starting '~zj:' are the gateway's, for Zhejiang fields Shanghai's format lacks, and this one names a field Zhejiang's interface defines"
            ),
            M::TooManyExtensions { max } => format!(
                "more than {max} extension entries (unknown fields and extension-area entries); the limit is {max}"
            ),
            M::ExtensionsTooLarge { kib, max_bytes } => format!(
                "extensions (unknown fields and extension-area entries) larger than {kib} KiB in total; the limit is {max_bytes} bytes"
            ),
            M::TooManyMaterials { max } => {
                format!("more than {max} materials; the limit is {max}")
            }
            M::JsonTooDeep { max } => {
                format!("nested more than {max} levels deep; the limit is {max}")
            }
            M::JsonTooManyFields {
                max,
                max_extensions,
            } => format!(
                "more than {max} fields in one object (or items in one array): more than {max_extensions} unknown fields, the limit, or fields given twice"
            ),
            M::TooManyAttributes { max } => {
                format!("more than {max} attributes on one element; the limit is {max}")
            }
            M::TooManyElements { max } => {
                format!("more than {max} elements in the document; the limit is {max}")
            }
            M::XmlTooDeep { max } => format!("elements nested more than {max} deep"),
            M::JsonNotObject { got } => {
                format!("body must be a JSON object, got {}", got.render(e))
            }
            M::JsonInvalid { detail } => format!("body is not valid JSON: {detail}"),
            M::XmlUnknownDocument { name } => format!(
                "unknown document <{name}>: Shanghai sends RemoteApply or RemoteDecision"
            ),
            M::DocumentIncomplete => "the document is incomplete".to_owned(),
            M::XmlUnexpectedText { text, element } => format!(
                "unexpected text '{text}' in <{element}>, which holds elements only"
            ),
            M::XmlUnknownElement {
                name,
                parent,
                expected,
            } => {
                let expected = if expected.is_empty() {
                    "no elements"
                } else {
                    expected
                };
                format!("unknown element <{name}>: <{parent}> holds {expected}")
            }
            M::XmlRepeated { name } => {
                format!("<{name}> appears more than once; it is allowed once")
            }
            M::XmlOutOfOrder { name, before } => {
                format!("<{name}> is out of order: it must come before <{before}>")
            }
            M::XmlMoreUnknown {
                count,
                parent,
                reported,
            } => format!(
                "{count} more unknown elements in <{parent}> (the first {reported} are reported)"
            ),
            M::XmlMissingElement { name } => format!("missing required element <{name}>"),
            M::XmlUnknownAttribute { name, element } => {
                format!("unknown attribute '{name}' on <{element}>")
            }
            M::XmlElementInText { name, parent } => format!(
                "unexpected element <{name}> inside <{parent}>, which holds text"
            ),
            M::XmlEmpty { name } => format!("<{name}> must not be empty"),
            M::XmlMissingAttribute { name, element } => {
                format!("missing required attribute '{name}' on <{element}>")
            }
            M::OfficeUnnamed => "<Office> must name the accepting office".to_owned(),
            M::AuthorityEmpty => "must name the deciding authority".to_owned(),
            M::XmlUtf16 => {
                "the document is UTF-16 (byte order mark); Shanghai documents are UTF-8 or GB18030"
                    .to_owned()
            }
            M::XmlBomGb18030 => {
                "the document starts with a UTF-8 byte order mark but declares GB18030".to_owned()
            }
            M::XmlBadGb18030 => {
                "the document is declared GB18030 but holds bytes that are not valid GB18030"
                    .to_owned()
            }
            M::XmlEncoding { value } => format!(
                "encoding '{value}' is not accepted: Shanghai documents are UTF-8 or GB18030"
            ),
            M::XmlBadUtf8 { byte } => format!(
                "the document is declared UTF-8 but byte {byte} is not valid UTF-8; declare encoding=\"GB18030\" if it is GB18030"
            ),
            M::XmlNotWellFormed { byte, detail } => {
                format!("the document is not well-formed XML near byte {byte}: {detail}")
            }
            M::XmlDoctype => {
                "a DOCTYPE is refused: Shanghai documents have no DTD, and entity declarations can expand without bound"
                    .to_owned()
            }
            M::XmlAfterRoot { name } => format!("content after the root element: <{name}>"),
            M::XmlNamespace {
                name,
                why,
                expected,
            } => {
                let why = match why {
                    Namespace::Other(uri) => format!("is in namespace '{uri}'"),
                    Namespace::None => "is in no namespace".to_owned(),
                    Namespace::UndeclaredPrefix(p) => format!("uses the undeclared prefix '{p}'"),
                };
                format!(
                    "element <{name}> {why}; Shanghai documents use the namespace {expected}"
                )
            }
            M::XmlEndWithoutStart => "an end tag without a start tag".to_owned(),
            M::XmlTextOutsideRoot => "text outside the root element".to_owned(),
            M::XmlBadCharacterData { detail } => format!(
                "bad character data: {detail} (only the five predefined entities and character references are allowed)"
            ),
            M::XmlCdataOutsideRoot => "CDATA outside the root element".to_owned(),
            M::XmlUnclosed { name } => format!("the document ends before </{name}>"),
            M::XmlNoRoot => "the document has no root element".to_owned(),
            M::XmlMoreForbidden { reported } => format!(
                "more texts with characters outside XML 1.0's Char production (the first {reported} are reported)"
            ),
            M::XmlBadAttribute { detail } => format!("bad attribute: {detail}"),
            M::XmlPrefixedAttribute => {
                "attributes of Shanghai documents are written without a prefix".to_owned()
            }
            M::XmlBadAttributeValue { detail } => format!("bad attribute value: {detail}"),
            M::WriteControlChars => {
                "holds control characters XML cannot carry; written as U+FFFD".to_owned()
            }
            M::WriteDecisionExtensionDropped => {
                "RemoteDecision has no extension area: not carried to Shanghai (the original document keeps it)"
                    .to_owned()
            }
            M::RequiredForItem { item } => format!("required for {item}"),
            M::UsccRequiredForItem { item } => {
                format!("统一社会信用代码 of the operator is required for {item}")
            }
            M::OnlyForRegistration { item } => {
                format!("only for registration items, not for {item}")
            }
            M::UsccAbsentForRegistration { item } => {
                format!("must be absent for {item}: the registration assigns the code")
            }
            M::OnlyForFood { item } => format!("only for food licence items, not for {item}"),
            M::EntityNotForItem { entity, item } => {
                format!("{entity} cannot be registered under {item}")
            }
            M::NoJurisdiction {
                target,
                target_name,
                premises,
                premises_name,
            } => format!(
                "{target} ({target_name}) has no jurisdiction over premises in {premises} ({premises_name})"
            ),
            M::LicenceRequired => "required when the licence is granted".to_owned(),
            M::LicenceAbsent { outcome: o } => format!(
                "must be absent when the result is {}: no licence is issued",
                outcome(*o, e)
            ),
            M::ValidityReversed { from, to } => {
                format!("validity ends ({to}) before it starts ({from})")
            }
            M::WrongKind { expected, got } => {
                format!("expected {}, got {}", expected.render(e), got.render(e))
            }
            M::OfficeOutsideProvince => {
                "the accepting office is not in the sending platform's province".to_owned()
            }
            M::OwnProvince { region } => {
                format!("target region {region:06} is in the sender's own province")
            }
            M::NoRoute { region } => {
                format!("no platform is configured for target region {region:06}")
            }
            M::RoutesBack { region } => {
                format!("target region {region:06} routes back to the sender")
            }
            M::DuplicateReceived { receipt } => {
                format!("duplicate application number: already received as {receipt}")
            }
            M::GatewayInternal => "internal error; retry later".to_owned(),
            M::WrongEndpoint { platform } => {
                format!("this endpoint is for the {platform} platform")
            }
            M::UnknownApplication { number } => {
                format!("no application {number} was forwarded to this platform")
            }
            M::DecisionInProgress => "a decision on this number is being processed".to_owned(),
            M::NoClientCertificate => "no client certificate".to_owned(),
            M::SignatureRefused { detail } => format!("signature refused: {detail}"),
            M::RequestTimeout { limit } => {
                format!("request not completed within the time limit of {limit}; retry later")
            }
            M::SandboxDown => "sandbox is down".to_owned(),
            M::HttpTooLarge { limit } => format!("body larger than {limit}"),
            M::HttpTooSlow { limit } => {
                format!("body not received within the time limit of {limit}")
            }
            M::HttpFraming { detail } => format!("malformed request body: {detail}"),
            M::HttpContentType { expected, got } => match got {
                Some(got) => format!("Content-Type must be {expected} (got {got})"),
                None => format!("Content-Type must be {expected} (none sent)"),
            },
            M::HttpMethod { method } => format!("method {method} not allowed: use POST"),
            M::HttpUnknownPath { path } => format!("no endpoint at {path}"),
            M::PageOutsideProvince { name, province } => format!(
                "{name} is not in {province}: the window accepts applications for {province} only"
            ),
            M::PageNotObject => "the request is not a JSON object".to_owned(),
            M::PageNotApplication => "must be an application, not a decision".to_owned(),
            M::PageAttachmentsTooLarge { mib, max_mib } => format!(
                "materials total {mib} MB, more than {max_mib} MB: compress the scans"
            ),
        }
    }
}

impl fmt::Display for Message {
    /// English: what logs and `{:?}`-free error chains show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.en())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_code_has_an_example_and_codes_are_unique() {
        let listed: BTreeSet<&str> = Message::CODES.iter().copied().collect();
        assert_eq!(listed.len(), Message::CODES.len(), "a code is listed twice");
        let examples: Vec<&str> = Message::examples().iter().map(Message::code).collect();
        let covered: BTreeSet<&str> = examples.iter().copied().collect();
        assert_eq!(covered.len(), examples.len(), "two examples of one code");
        assert_eq!(covered, listed, "CODES and the examples differ");
        // In the catalogue's order, so `schemas/messages.md` reads as the enum does.
        assert_eq!(examples, Message::CODES);
        for code in Message::CODES {
            let ok = code.split(['.', '-']).all(|w| {
                !w.is_empty()
                    && w.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
            assert!(
                ok && code.contains('.'),
                "{code} is not a dotted kebab-case code"
            );
        }
    }

    /// ASCII words a Chinese text may hold: names of standards, formats, units, XML and
    /// HTTP vocabulary and the platforms' own spellings, which the reader sees as they are.
    const TECHNICAL: &[&str] = &[
        "ASCII",
        "GB",
        "ISO",
        "MOD",
        "XML",
        "JSON",
        "UTF",
        "GB18030",
        "SHA",
        "base64",
        "MIME",
        "application",
        "pdf",
        "DOCTYPE",
        "DTD",
        "CDATA",
        "Char",
        "Content-Type",
        "Type",
        "Content",
        "POST",
        "KiB",
        "MB",
        "MiB",
        "Digest",
        "algorithm",
        "currency",
        "CNY",
        "encoding",
        "Field",
        "kzxx",
        "zj",
        "RemoteApply",
        "RemoteDecision",
        "GRANTED",
        "REFUSED",
        "CORRECTION",
        "true",
        "false",
        "Office",
        "JY",
        "yyyy",
        "MM",
        "dd",
        "HH",
        "mm",
        "ss",
        "T",
        "Z",
        "U",
        "FFFD",
        "X",
        "I",
        "O",
        "S",
        "V",
        "A",
        "Z",
        "a",
        "z",
        "m",
        "null",
        "ddTHH",
    ];

    #[test]
    fn every_message_reads_in_both_languages() {
        let mut untranslated = Vec::new();
        for m in Message::examples() {
            let (zh, en) = (m.render(Lang::Zh), m.render(Lang::En));
            for text in [&zh, &en] {
                assert!(!text.trim().is_empty(), "{}: empty", m.code());
                assert!(
                    !text.contains('{') && !text.contains('}'),
                    "{}: placeholder left in {text}",
                    m.code()
                );
            }
            assert_ne!(zh, en, "{}: not translated", m.code());
            assert!(
                zh.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)),
                "{}: no Chinese in {zh}",
                m.code()
            );
            // Parameters are the document's or a library's words, shown as they are; any other
            // English word is the template's, and only the technical vocabulary above may
            // remain.
            let mut zh_template = zh.clone();
            for value in quoted(&format!("{m:?}")) {
                zh_template = zh_template.replace(&value, " ");
            }
            let english: Vec<&str> = zh_template
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .filter(|w| w.bytes().any(|b| b.is_ascii_alphabetic()))
                // A code point (`U+FF2F`) is a value.
                .filter(|w| {
                    !w.bytes()
                        .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
                })
                .filter(|w| {
                    !w.split('-')
                        .all(|p| TECHNICAL.contains(&p) || p.bytes().all(|b| b.is_ascii_digit()))
                })
                .collect();
            if !english.is_empty() {
                untranslated.push(format!("{}: {english:?} in {zh}", m.code()));
            }
            assert_eq!(m.to_string(), en, "logs read English");
        }
        assert!(
            untranslated.is_empty(),
            "English left in Chinese: {untranslated:#?}"
        );
    }

    /// The quoted strings and characters of a `Debug` form: a message's parameters.
    fn quoted(debug: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut chars = debug.chars();
        while let Some(c) = chars.next() {
            if c == '"' || c == '\'' {
                let mut value = String::new();
                while let Some(d) = chars.next() {
                    match d {
                        '\\' => value.extend(chars.next()),
                        d if d == c => break,
                        d => value.push(d),
                    }
                }
                out.push(value);
            }
        }
        out.sort_by_key(|v| std::cmp::Reverse(v.len()));
        out
    }

    #[test]
    fn locales_and_flags_name_a_language() {
        assert_eq!(Lang::from_locale("zh_CN.UTF-8"), Lang::Zh);
        assert_eq!(Lang::from_locale("zh_TW"), Lang::Zh);
        assert_eq!(Lang::from_locale("C.UTF-8"), Lang::En);
        assert_eq!(Lang::from_locale("en_US.UTF-8"), Lang::En);
        assert_eq!("zh".parse::<Lang>(), Ok(Lang::Zh));
        assert_eq!("en".parse::<Lang>(), Ok(Lang::En));
        assert!("fr".parse::<Lang>().is_err());
        assert_eq!(Lang::default(), Lang::Zh);
    }
}
