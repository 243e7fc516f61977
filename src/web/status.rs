//! The applicant's status page (办理进度查询): public, read-only, mobile-first, in Chinese,
//! reached only through the link printed on the receipt (its QR code and short link).
//!
//! The link is `<public_url>s/<gateway number>-<tag>`, the tag being the first 128 bits of
//! HMAC-SHA256 of the gateway number under a secret of the data directory
//! ([`StatusKey`]), in RFC 4648 base32 (26 characters, typed from paper in either case).
//! Nothing is stored per link: the tag is recomputed and compared in constant time. A link
//! with a wrong tag, an unknown number or no tag at all is the same plain 404, so the page
//! tells nothing about which numbers exist. Each client address has a small token bucket
//! ([`RateLimit`]); wrong links count as much as right ones. Behind a reverse proxy listed in
//! `trusted_proxies` the client is the address the proxy names in `X-Forwarded-For`.
//!
//! The page shows what [`PublicStatus`] holds and nothing else: no identity or phone
//! number (the type has no field for them), the applicant's name masked.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac as _};
use maud::{html, Markup};
use sha2::Sha256;

use super::desk::{PublicStatus, State as AppState};
use super::frame::{public_layout, public_not_found};
use super::pages::{badge, beijing};
use super::Web;
use crate::codes::ItemKind;
use crate::model::Outcome;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the HMAC kept in a link: 128 bits, beyond any guessing.
const TAG_BYTES: usize = 16;
/// Domain separation of the HMAC input, so the key could never sign anything else alike.
const TAG_CONTEXT: &[u8] = b"tongban status link v1\0";

/// The secret behind the receipts' status links (32 bytes, kept in the data directory with
/// mode 0600); never printed.
#[derive(Clone)]
pub struct StatusKey([u8; 32]);

impl std::fmt::Debug for StatusKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatusKey(..)")
    }
}

impl StatusKey {
    /// The key `bytes`.
    pub fn new(bytes: [u8; 32]) -> Self {
        StatusKey(bytes)
    }

    /// A random key (tests, and pages mounted without a data directory).
    pub fn random() -> Self {
        StatusKey(rand::random())
    }

    fn mac(&self, gateway_no: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(TAG_CONTEXT);
        mac.update(gateway_no.as_bytes());
        mac
    }

    /// The link's last path segment for `gateway_no`: `<number>-<tag>`.
    pub fn token(&self, gateway_no: &str) -> String {
        let tag = self.mac(gateway_no).finalize().into_bytes();
        format!(
            "{gateway_no}-{}",
            data_encoding::BASE32_NOPAD.encode(&tag[..TAG_BYTES])
        )
    }

    /// The gateway number of `token` when its tag is right (compared in constant time).
    pub fn verify<'a>(&self, token: &'a str) -> Option<&'a str> {
        let (no, tag) = token.rsplit_once('-')?;
        if no.is_empty() || tag.len() != 26 {
            return None;
        }
        let tag = data_encoding::BASE32_NOPAD
            .decode(tag.to_ascii_uppercase().as_bytes())
            .ok()?;
        self.mac(no).verify_truncated_left(&tag).ok()?;
        Some(no)
    }
}

/// A token bucket per client address (the GCRA of the `governor` crate, keyed by address).
pub struct RateLimit {
    quota: governor::Quota,
    limiter: std::sync::RwLock<governor::DefaultKeyedRateLimiter<Option<IpAddr>>>,
}

/// Addresses tracked before those whose bucket has filled up again are forgotten.
const MAX_TRACKED: usize = 10_000;

impl RateLimit {
    /// `burst` requests at once, then one per `every`.
    pub fn new(burst: u32, every: Duration) -> Self {
        let quota = governor::Quota::with_period(every)
            .expect("a positive period")
            .allow_burst(std::num::NonZeroU32::new(burst.max(1)).expect("at least 1"));
        RateLimit {
            quota,
            limiter: std::sync::RwLock::new(governor::RateLimiter::keyed(quota)),
        }
    }

    /// Takes a token for `addr`; `Err` with the wait until the next one. An IPv6 address
    /// counts by its /64, the block one subscriber holds.
    pub fn take(&self, addr: Option<IpAddr>) -> Result<(), Duration> {
        use governor::clock::Clock as _;
        let addr = addr.map(|a| match a {
            IpAddr::V6(v6) => {
                let mut o = v6.octets();
                o[8..].fill(0);
                IpAddr::from(o)
            }
            v4 => v4,
        });
        let full = |l: &governor::DefaultKeyedRateLimiter<_>| l.len() >= MAX_TRACKED;
        if full(&self.limiter.read().unwrap_or_else(|e| e.into_inner())) {
            let mut limiter = self.limiter.write().unwrap_or_else(|e| e.into_inner());
            // Forget the addresses whose bucket has filled up again: nothing is lost. Still
            // full (a flood from many blocks at once), memory matters more than their
            // buckets: a link cannot be guessed however fast one asks.
            limiter.retain_recent();
            if full(&limiter) {
                *limiter = governor::RateLimiter::keyed(self.quota);
            }
        }
        let limiter = self.limiter.read().unwrap_or_else(|e| e.into_inner());
        limiter.check_key(&addr).map_err(|not_until| {
            not_until.wait_time_from(governor::clock::DefaultClock::default().now())
        })
    }
}

impl Default for RateLimit {
    /// 20 at once, then one every 6 seconds (10 a minute): an applicant reloading the page
    /// (or a family sharing one address) is never stopped; a scanner is slowed to a crawl,
    /// and it could not guess a 128-bit tag at any speed.
    fn default() -> Self {
        RateLimit::new(20, Duration::from_secs(6))
    }
}

/// What the applicant brings to the window to collect the decision: by the item's kind
/// and the outcome. The window's general collection rules (the acceptance receipt and the
/// original identity document, a power of attorney when someone else collects), not a
/// promise of more than that.
const TO_BRING: &[(ItemKind, Outcome, &[&str])] = &[
    (
        ItemKind::Food,
        Outcome::Granted,
        &[
            "本受理回执",
            "申请人（法定代表人或经营者）身份证件原件",
            "委托他人领取的，另带授权委托书和受托人身份证件原件",
        ],
    ),
    (
        ItemKind::Registration,
        Outcome::Granted,
        &[
            "本受理回执",
            "法定代表人（负责人、经营者）身份证件原件",
            "委托他人领取的，另带授权委托书和受托人身份证件原件",
        ],
    ),
    (
        ItemKind::Food,
        Outcome::Refused,
        &["本受理回执", "申请人身份证件原件"],
    ),
    (
        ItemKind::Registration,
        Outcome::Refused,
        &["本受理回执", "申请人身份证件原件"],
    ),
    (
        ItemKind::Food,
        Outcome::Correction,
        &[
            "本受理回执",
            "申请人身份证件原件",
            "需补正的材料（请先向受理窗口问清要补哪些）",
        ],
    ),
    (
        ItemKind::Registration,
        Outcome::Correction,
        &[
            "本受理回执",
            "申请人身份证件原件",
            "需补正的材料（请先向受理窗口问清要补哪些）",
        ],
    ),
];

/// What to bring for `kind` and `outcome`.
pub fn to_bring(kind: ItemKind, outcome: Outcome) -> &'static [&'static str] {
    TO_BRING
        .iter()
        .find(|(k, o, _)| *k == kind && *o == outcome)
        .map_or(&[], |(_, _, list)| list)
}

/// The state in a sentence an applicant understands.
fn sentence(s: &PublicStatus) -> String {
    match s.state {
        AppState::Received => "窗口已受理您的申请，正在转送审批机关。".to_owned(),
        AppState::Forwarded => format!("{}正在审批您的申请。", s.authority),
        AppState::Decided(Outcome::Granted) => {
            format!(
                "审批已通过，{}可以领取了。",
                s.licence_name.as_deref().unwrap_or("证照")
            )
        }
        AppState::Decided(Outcome::Refused) => {
            "审批机关作出了不予许可的决定，请到受理窗口领取决定书。".to_owned()
        }
        AppState::Decided(Outcome::Correction) => {
            "审批机关要求补正材料，请到受理窗口了解需补正的内容。".to_owned()
        }
        AppState::HandedOver(_) => "审批结果已送达，本申请办结。".to_owned(),
        AppState::Failed => "申请转送未成功，请联系受理窗口。".to_owned(),
    }
}

fn deadline(s: &PublicStatus) -> Markup {
    html! {
        (s.deadline) "（受理后 " (s.working_days) " 个工作日，周末和法定节假日不计）"
        @if s.deadline_provisional { br; span.muted.small { "次年节假日安排公布后，日期可能调整" } }
        @if s.state.is_open() {
            br;
            @if s.days_left < 0 {
                span.overdue { "已超过期限 " (-s.days_left) " 个工作日" }
            } @else if s.days_left == 0 {
                span.due { "今日到期" }
            } @else {
                "还剩 " (s.days_left) " 个工作日"
            }
        }
    }
}

fn page(s: &PublicStatus) -> Markup {
    let decided = match s.state {
        AppState::Decided(o) => Some(o),
        _ => None,
    };
    html! {
        main.status-page {
            p.status-kicker { "长三角“一网通办” · 跨省通办办理进度" }
            h1 { (s.item.name()) }
            p.status-state { (badge(s.state)) " " span #status-sentence { (sentence(s)) } }
            @if let Some(outcome) = decided {
                section.card.collect #collect {
                    h2 { "领取须知" }
                    p { "请到 " b { (s.office_name) } " 领取，带齐：" }
                    ul { @for thing in to_bring(s.item.kind(), outcome) { li { (thing) } } }
                }
            }
            section.card {
                dl.facts {
                    dt { "通办编号" } dd.mono { (s.gateway_no) }
                    dt { "申请人" } dd #status-applicant { (s.applicant.as_str()) }
                    dt { "受理窗口" } dd { (s.office_name) }
                    dt { "审批机关" } dd { (s.authority) }
                    dt { "受理时间" } dd { (beijing(&s.accepted_at)) }
                    dt { "办结期限" } dd #status-deadline { (deadline(s)) }
                }
            }
            section.card {
                h2 { "办理过程" }
                ol.timeline.public #status-timeline {
                    @for step in &s.timeline {
                        li { span.when { (beijing(&step.at)) } span.what { (step.label) } }
                    }
                }
            }
            p.muted.small { "本页只显示办理进度，不显示证件号码、手机号码等个人信息。请妥善保管受理回执，不要把查询链接发给他人。" }
        }
    }
}

fn too_many(wait: Duration) -> Response {
    let body = html! {
        main.status-page {
            h1 { "查询过于频繁" }
            p { "请稍后再试。" }
        }
    };
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, wait.as_secs().max(1).to_string())],
        public_layout("查询过于频繁", body),
    )
        .into_response()
}

/// `GET /s/{token}`: the applicant's status page.
pub async fn page_handler(
    State(web): State<Arc<Web>>,
    ext: axum::http::Extensions,
    headers: axum::http::HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let client = super::client_addr(&ext, &headers, &web.config.trusted_proxies);
    if let Err(wait) = web.status_limit.take(client) {
        return too_many(wait);
    }
    let Some(no) = web.status_key.verify(&token) else {
        return public_not_found();
    };
    match web.desk.public_status(no).await {
        Ok(Some(s)) if s.gateway_no == no => {
            public_layout(&format!("办理进度 {}", s.gateway_no), page(&s)).into_response()
        }
        Ok(_) => public_not_found(),
        Err(e) => {
            tracing::error!(error = %e, "status page: desk unavailable");
            let body = html! {
                main.status-page { h1 { "暂时无法查询" } p { "请稍后再试。" } }
            };
            (
                StatusCode::SERVICE_UNAVAILABLE,
                public_layout("暂时无法查询", body),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::MaskedName;

    #[test]
    fn a_link_verifies_only_with_its_own_tag_and_key() {
        let key = StatusKey::new([7; 32]);
        let token = key.token("TB202612060000000001");
        let (no, tag) = token.rsplit_once('-').unwrap();
        assert_eq!(no, "TB202612060000000001");
        assert_eq!(tag.len(), 26, "128 bits in base32");
        assert_eq!(key.verify(&token), Some("TB202612060000000001"));
        assert_eq!(
            key.verify(&token.to_lowercase().replacen("tb", "TB", 1)),
            Some("TB202612060000000001"),
            "typed in lower case"
        );
        assert_eq!(key.verify("TB202612060000000001"), None, "number alone");
        assert_eq!(
            key.verify(&format!("TB202612060000000002-{tag}")),
            None,
            "another number"
        );
        let mut wrong = tag.to_owned();
        wrong.replace_range(..1, if tag.starts_with('A') { "B" } else { "A" });
        assert_eq!(key.verify(&format!("{no}-{wrong}")), None);
        assert_eq!(StatusKey::new([8; 32]).verify(&token), None, "another key");
        assert_eq!(format!("{key:?}"), "StatusKey(..)");
    }

    #[test]
    fn the_bucket_empties_then_refills() {
        let limit = RateLimit::new(3, Duration::from_millis(50));
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..3 {
            assert!(limit.take(a).is_ok());
        }
        assert!(limit.take(a).is_err());
        assert!(
            limit.take(Some(IpAddr::from([10, 0, 0, 2]))).is_ok(),
            "per address"
        );
        std::thread::sleep(Duration::from_millis(60));
        assert!(limit.take(a).is_ok());
        // One IPv6 subscriber's /64 is one bucket.
        let limit = RateLimit::new(1, Duration::from_secs(60));
        let v6 = |last: u16| Some(IpAddr::from([0x2001, 0xdb8, 0, 1, 0, 0, 0, last]));
        assert!(limit.take(v6(1)).is_ok());
        assert!(limit.take(v6(2)).is_err(), "same /64");
        assert!(limit
            .take(Some(IpAddr::from([0x2001, 0xdb8, 0, 2, 0, 0, 0, 1])))
            .is_ok());
    }

    #[test]
    fn a_flood_from_many_addresses_keeps_the_table_bounded() {
        let limit = RateLimit::new(1, Duration::from_secs(3600));
        for i in 0..(MAX_TRACKED as u32 + 500) {
            let _ = limit.take(Some(IpAddr::from(i.to_be_bytes())));
        }
        let tracked = limit.limiter.read().unwrap().len();
        assert!(tracked <= MAX_TRACKED, "{tracked} addresses tracked");
    }

    #[test]
    fn names_are_masked() {
        assert_eq!(MaskedName::of("王小明").as_str(), "王*明");
        assert_eq!(MaskedName::of("王明").as_str(), "王*");
        assert_eq!(MaskedName::of("欧阳小平").as_str(), "欧**平");
        assert_eq!(MaskedName::of("王").as_str(), "*");
    }

    #[test]
    fn every_item_kind_and_outcome_says_what_to_bring() {
        for kind in [ItemKind::Food, ItemKind::Registration] {
            for outcome in [Outcome::Granted, Outcome::Refused, Outcome::Correction] {
                let list = to_bring(kind, outcome);
                assert!(list.contains(&"本受理回执"), "{kind:?} {outcome:?}");
            }
        }
    }
}
