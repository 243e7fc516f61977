//! Just enough of the W3C WebDriver protocol to drive headless Chromium through Debian's
//! `chromedriver`, on the crate's own HTTP client: no browser download, no second toolchain.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// The W3C key of an element reference in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// WebDriver's code for the Enter key.
pub const ENTER: &str = "\u{E007}";
/// WebDriver's code for the Tab key.
pub const TAB: &str = "\u{E004}";
/// How long waits for the page last before the test fails: generous for a shared 2-core
/// machine, short enough that a broken page fails the test quickly.
pub const WAIT: Duration = Duration::from_secs(20);

/// The first executable called one of `names` on `PATH`.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// A running chromedriver; killed when dropped.
pub struct Driver {
    child: Child,
    url: String,
    chromium: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Starts chromedriver on a free loopback port. Panics with what to install when Chromium
    /// or its driver is missing: the browser test must fail, never pass silently.
    pub async fn start() -> Driver {
        let driver = std::env::var_os("CHROMEDRIVER")
            .map(PathBuf::from)
            .or_else(|| on_path(&["chromedriver"]))
            .unwrap_or_else(|| {
                panic!(
                    "chromedriver not found on PATH: the browser test needs headless Chromium and \
                     its driver (Debian: apt-get install -y chromium chromium-driver; .ci/run installs them)"
                )
            });
        let chromium = std::env::var_os("CHROMIUM")
            .map(PathBuf::from)
            .or_else(|| on_path(&["chromium", "chromium-browser", "google-chrome"]))
            .unwrap_or_else(|| {
                panic!(
                    "chromium not found on PATH: the browser test needs headless Chromium \
                     (Debian: apt-get install -y chromium chromium-driver; .ci/run installs them)"
                )
            });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
        let d = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            chromium,
        };
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(r) = client.get(format!("{}/status", d.url)).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(started.elapsed() < WAIT, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        d
    }

    /// A new headless browser session with a fresh profile in `profile`.
    pub async fn session(&self, profile: &Path) -> Session {
        // The gateway serves the page with its dev certificate (a CA made for the test).
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1366,900",
                    "--lang=zh-CN", format!("--user-data-dir={}", profile.display()),
                ],
            },
        }}});
        let mut s = Session {
            client: reqwest::Client::new(),
            base: self.url.clone(),
        };
        let v = s.call("POST", "/session", caps).await;
        let id = v["sessionId"].as_str().expect("session id").to_owned();
        s.base = format!("{}/session/{id}", self.url);
        s
    }
}

/// One browser session.
pub struct Session {
    client: reqwest::Client,
    base: String,
}

/// An element on the page.
#[derive(Clone)]
pub struct Element(String);

impl Session {
    async fn call(&mut self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let req = match method {
            "GET" => self.client.get(&url),
            "DELETE" => self.client.delete(&url),
            _ => self
                .client
                .post(&url)
                .header("content-type", "application/json")
                .body(body.to_string()),
        };
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status();
        let bytes = resp.bytes().await.unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert!(
            status.is_success(),
            "{method} {path} → {status}: {}",
            v["value"]["message"]
        );
        v.get("value").cloned().unwrap_or(v)
    }

    /// Opens `url`.
    pub async fn goto(&mut self, url: &str) {
        self.call("POST", "/url", json!({ "url": url })).await;
    }

    /// The current URL.
    pub async fn url(&mut self) -> String {
        self.call("GET", "/url", Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The element matching `css`, waiting for it to appear.
    pub async fn find(&mut self, css: &str) -> Element {
        self.wait(&format!("!!document.querySelector({})", json!(css)), css)
            .await;
        let v = self
            .call(
                "POST",
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        Element(v[ELEMENT_KEY].as_str().expect("element").to_owned())
    }

    /// Types `text` into the element matching `css`.
    pub async fn type_in(&mut self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call(
            "POST",
            &format!("/element/{}/value", e.0),
            json!({ "text": text }),
        )
        .await;
    }

    /// Clears the element matching `css`.
    pub async fn clear(&mut self, css: &str) {
        let e = self.find(css).await;
        self.call("POST", &format!("/element/{}/clear", e.0), json!({}))
            .await;
    }

    /// Clicks the element matching `css`.
    pub async fn click(&mut self, css: &str) {
        let e = self.find(css).await;
        self.call("POST", &format!("/element/{}/click", e.0), json!({}))
            .await;
    }

    /// The visible text of the element matching `css`.
    pub async fn text(&mut self, css: &str) -> String {
        let e = self.find(css).await;
        self.call("GET", &format!("/element/{}/text", e.0), Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Runs `script` (a function body; `arguments` holds `args`); a returned promise is
    /// awaited.
    pub async fn js(&mut self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": args }),
        )
        .await
    }

    /// Waits until the JavaScript expression `condition` is true; fails naming `what`.
    pub async fn wait(&mut self, condition: &str, what: &str) {
        let started = Instant::now();
        let script = format!("return !!({condition});");
        loop {
            if self.js(&script, json!([])).await == Value::Bool(true) {
                return;
            }
            assert!(started.elapsed() < WAIT, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the element matching `css` shows text containing `needle`.
    pub async fn wait_text(&mut self, css: &str, needle: &str) -> String {
        let condition = format!(
            "document.querySelector({c}) && document.querySelector({c}).innerText.indexOf({n}) >= 0",
            c = json!(css),
            n = json!(needle)
        );
        self.wait(&condition, &format!("'{needle}' in {css}")).await;
        self.text(css).await
    }

    /// Saves a PNG screenshot of the viewport to `path`.
    pub async fn screenshot(&mut self, path: &Path) {
        let v = self.call("GET", "/screenshot", Value::Null).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("base64 screenshot"))
            .unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Sets the window's inner size (for full-page screenshots of long pages).
    pub async fn resize(&mut self, width: u32, height: u32) {
        self.call(
            "POST",
            "/window/rect",
            json!({ "width": width, "height": height }),
        )
        .await;
    }

    /// Runs a Chrome DevTools Protocol command through chromedriver.
    pub async fn cdp(&mut self, cmd: &str, params: Value) -> Value {
        self.call(
            "POST",
            "/goog/cdp/execute",
            json!({ "cmd": cmd, "params": params }),
        )
        .await
    }

    /// Prints the page to PDF (A4) and returns the bytes.
    pub async fn print_pdf(&mut self) -> Vec<u8> {
        let v = self
            .call(
                "POST",
                "/print",
                json!({"background": true, "page": {"width": 21.0, "height": 29.7}, "margin": {"top": 0, "bottom": 0, "left": 0, "right": 0}}),
            )
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("base64 PDF"))
            .unwrap()
    }

    /// Presses and releases `key` (a character or a WebDriver key code) as the keyboard
    /// would, on whatever has the focus.
    pub async fn press(&mut self, key: &str) {
        self.call(
            "POST",
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}
            ]}]}),
        )
        .await;
        self.call("DELETE", "/actions", Value::Null).await;
    }

    /// Deletes the cookie `name` (a session that ended, as the browser sees it).
    pub async fn delete_cookie(&mut self, name: &str) {
        self.call("DELETE", &format!("/cookie/{name}"), Value::Null)
            .await;
    }

    /// A PNG of the element matching `css`, as rendered.
    pub async fn element_png(&mut self, css: &str) -> Vec<u8> {
        let e = self.find(css).await;
        let v = self
            .call("GET", &format!("/element/{}/screenshot", e.0), Value::Null)
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("base64 screenshot"))
            .unwrap()
    }

    /// Lays the page out `width` CSS pixels wide and `height` high (a phone's or a desk's
    /// screen), whatever the window.
    pub async fn viewport(&mut self, width: u32, height: u32) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        )
        .await;
    }

    /// Ends the session (the browser exits).
    pub async fn quit(mut self) {
        self.call("DELETE", "", Value::Null).await;
    }
}
