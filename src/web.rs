//! The window clerks' page (跨省通办专窗): sign-in, intake form, work list, receipt and
//! hand-over, served by the gateway itself with every asset embedded.
//!
//! [`router`] gives an axum router for the clerk-facing listener; everything the page needs
//! from the gateway goes through the small [`Desk`] trait. The intake form builds a Zhejiang
//! format application in the browser; the server fills the acceptance (`slxx`) and a fresh
//! number (`sqbh`) from the session, reads it with the Zhejiang adapter (so problems come
//! back with the form fields' own names), writes it in the clerk's province platform's
//! format and submits it through the same pipeline as a platform submission. A refusal comes
//! back in Chinese from the message catalogue ([`crate::model::message`]) with its code and,
//! whichever platform's path it names, the form's field and label ([`labels`]).
//!
//! Security: argon2 password hashes; session cookie `HttpOnly; SameSite=Strict` (and
//! `Secure` in production); a CSRF synchronizer token on every state-changing request;
//! lock-out after repeated failed sign-ins per account and per address; every page and API
//! except sign-in and static assets needs a session; an office sees only its own
//! applications, decided by the session, never by a request parameter.
//!
//! # Mounting
//! ```text
//! let config = WebConfig {
//!     accounts: vec![Account { username, display_name, password_hash /* hash_password(..) */,
//!                              office: Office { name, uscc, platform } }],
//!     secure_cookies: true,
//!     lockout: Lockout::default(),
//!     session_idle: WebConfig::DEFAULT_SESSION_IDLE,
//!     status_url: "https://gateway.example/status/".into(),
//! };
//! config.check()?;                       // every problem at once, before binding a port
//! let app = other_routes.merge(web::router(desk, config));
//! axum::serve(tls_listener, app.into_make_service_with_connect_info::<SocketAddr>())
//! ```

mod api;
mod assets;
mod auth;
mod desk;
pub mod labels;
mod pages;

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::Argon2;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

use crate::model::Uscc;
use crate::platform::Platform;

pub use desk::{
    outcome_label, DecisionInfo, Desk, DeskError, DeskFuture, Detail, HandOver, LicenceFile,
    LicenceInfo, MaterialReceived, Receipt, State, Step, Summary,
};

/// Largest attachment total a window submits (scanned materials of one application).
pub const MAX_ATTACHMENTS: usize = 20 * 1024 * 1024;
/// Largest submission body: the attachments in base64 (4/3) plus the form's fields.
pub const MAX_SUBMISSION: usize = MAX_ATTACHMENTS / 3 * 4 + 1024 * 1024;
/// Largest body of any other request (sign-in, hand-over forms): a few fields.
const MAX_FORM: usize = 16 * 1024;

/// A window office (受理机构).
#[derive(Debug, Clone, PartialEq)]
pub struct Office {
    /// 受理机构名称, as printed on receipts.
    pub name: String,
    /// 受理机构统一社会信用代码; also the key of the office's applications.
    pub uscc: Uscc,
    /// The office's province platform: submissions go in its format, with it as source.
    pub platform: Platform,
}

/// A clerk account.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// Sign-in name.
    pub username: String,
    /// 受理人 name, recorded as the acceptance and the hand-over.
    pub display_name: String,
    /// Argon2 PHC string (`$argon2id$v=19$…`), from [`hash_password`].
    pub password_hash: String,
    /// The office the clerk works at.
    pub office: Office,
}

/// When sign-ins are refused after failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// Consecutive failures that lock an account.
    pub threshold: u32,
    /// Failures from one address (any account) that lock the address; higher than
    /// `threshold` because a window's PCs often share one address.
    pub address_threshold: u32,
    /// How long a lock lasts.
    pub duration: Duration,
}

impl Default for Lockout {
    /// 5 failures per account, 20 per address, 15 minutes: a clerk who mistypes a few times
    /// is not stopped, a guesser gets a handful of tries an hour.
    fn default() -> Self {
        Lockout {
            threshold: 5,
            address_threshold: 20,
            duration: Duration::from_secs(15 * 60),
        }
    }
}

/// Configuration of the clerk page.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Clerk accounts of every window office.
    pub accounts: Vec<Account>,
    /// Send the session cookie with `Secure` (true in production over HTTPS; false only for
    /// tests over plain HTTP).
    pub secure_cookies: bool,
    /// Sign-in lock-out.
    pub lockout: Lockout,
    /// A session ends after this long without a request.
    pub session_idle: Duration,
    /// Prefix of the public status page; the receipt's QR code encodes this followed by the
    /// gateway number.
    pub status_url: String,
}

impl WebConfig {
    /// Idle time after which a session ends: two hours, so a clerk is not signed out over a
    /// lunch-time queue but an abandoned PC does not stay signed in all day.
    pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(2 * 3600);

    /// Every problem of the configuration at once: duplicate user names, hashes that are
    /// not argon2 PHC strings, empty names.
    pub fn check(&self) -> Result<(), Vec<ConfigError>> {
        let mut errors = Vec::new();
        for (i, a) in self.accounts.iter().enumerate() {
            if a.username.trim().is_empty() || a.display_name.trim().is_empty() {
                errors.push(ConfigError::EmptyName(i));
            }
            if self.accounts[..i].iter().any(|b| b.username == a.username) {
                errors.push(ConfigError::Duplicate(a.username.clone()));
            }
            if !is_argon2_phc(&a.password_hash) {
                errors.push(ConfigError::Hash(a.username.clone()));
            }
        }
        if self.lockout.threshold == 0 || self.lockout.address_threshold == 0 {
            errors.push(ConfigError::Lockout);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// A problem in [`WebConfig`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Account number `0` (in file order) has an empty user or display name.
    #[error("clerk account #{0}: username and display name must not be empty")]
    EmptyName(usize),
    /// Two accounts share a user name.
    #[error("clerk account '{0}' is configured twice")]
    Duplicate(String),
    /// The password hash is not an argon2 PHC string.
    #[error("clerk account '{0}': password hash must be an argon2 PHC string ($argon2id$…); make one with `tongban web hash-password`")]
    Hash(String),
    /// A lock-out threshold is zero.
    #[error("lock-out thresholds must be at least 1")]
    Lockout,
}

/// Whether `hash` is an argon2 PHC string (`$argon2id$v=19$…`) an account can sign in with.
pub fn is_argon2_phc(hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| h.algorithm.as_str().starts_with("argon2"))
        .unwrap_or(false)
}

/// Hashing a password failed (only with a broken random source or parameters).
#[derive(Debug, thiserror::Error)]
#[error("could not hash the password: {0}")]
pub struct HashError(String);

/// Hashes a clerk password with argon2id (default parameters, random 16-byte salt) into the
/// PHC string [`Account::password_hash`] takes.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let salt: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt).map_err(|e| HashError(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Shared state of the handlers.
struct Web {
    desk: Arc<dyn Desk>,
    config: WebConfig,
    auth: auth::Auth,
}

/// The clerk page's router; every path is under `/clerk/`. Mount it on the clerk-facing
/// HTTPS listener (served with `into_make_service_with_connect_info::<SocketAddr>()` so the
/// per-address lock-out sees the peer).
pub fn router(desk: Arc<dyn Desk>, config: WebConfig) -> Router {
    let web = Arc::new(Web {
        desk,
        auth: auth::Auth::new(&config),
        config,
    });
    let submit = Router::new()
        .route("/clerk/api/applications", post(api::submit))
        .layer(DefaultBodyLimit::max(MAX_SUBMISSION));
    Router::new()
        .route("/clerk", get(pages::home))
        .route("/clerk/", get(pages::home))
        .route("/clerk/login", get(auth::login_page).post(auth::login))
        .route("/clerk/logout", post(auth::logout))
        .route("/clerk/applications", get(pages::list))
        .route("/clerk/new", get(pages::new_application))
        .route("/clerk/applications/{no}", get(pages::detail))
        .route("/clerk/applications/{no}/receipt", get(pages::receipt))
        .route("/clerk/applications/{no}/licence", get(pages::licence))
        .route("/clerk/applications/{no}/handover", post(pages::handover))
        .route("/clerk/api/check", get(api::check))
        .route("/clerk/assets/{file}", get(assets::serve))
        .layer(DefaultBodyLimit::max(MAX_FORM))
        .merge(submit)
        .fallback(pages::not_found)
        .layer(axum::middleware::map_response(pages::security_headers))
        .with_state(web)
}
