//! `TestApp::start()`: a fresh store, the demo site and a second site, the app on port 0.

use biscotte_server::app::{self, AppState};
use biscotte_server::auth::{RECEIPT_AUDIENCE, ReceiptClaims, Role, Signer};
use biscotte_server::config::Config;
use biscotte_server::evidence::LogKey;
use biscotte_server::sitefile::SiteFile;
use biscotte_shared::audit::{BundleReport, BundleVerifier};
use biscotte_shared::note::VerifierKey;

use biscotte_shared::api::{ConsentRecord, ConsentRequest, PublishedConfig};
use biscotte_shared::{Lang, Method, Timestamp};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;

/// An origin the demo site registers: the pages decisions come from in tests.
pub const PAGE_ORIGIN: &str = "http://127.0.0.1:8080";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub signer: Signer,
    pub config: Config,
    _dir: tempfile::TempDir,
}

/// A response header as text, if present and readable.
pub fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
}

pub fn demo_site_file() -> SiteFile {
    SiteFile::read(&repo_path("www/demo/site.toml")).expect("the demo site file parses")
}

fn now() -> Timestamp {
    biscotte_server::routes::now()
}

impl TestApp {
    pub async fn start() -> TestApp {
        Self::start_with(|_| {}).await
    }

    /// Starts with a per-test tweak of the configuration.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        Self::start_with_routes(tweak, |_| {}).await
    }

    /// Starts with a tweak and extra routes that exist only in tests (a handler that panics).
    pub async fn start_with_routes(
        tweak: impl FnOnce(&mut Config),
        routes: impl Fn(&mut actix_web::web::ServiceConfig) + Send + Clone + 'static,
    ) -> TestApp {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut config = Config::with_data_dir(dir.path().join("store"));
        config.www_dir = repo_path("www");
        config.banner_dir = dir.path().join("no-banner");
        // Tests send many requests from one address; the ones about the limit turn it on.
        config.rate_limit_per_minute = 0;
        tweak(&mut config);
        let state = AppState::open(&config).expect("state opens");
        for (id, name) in [("demo", "Demo"), ("other", "Other site")] {
            let mut file = demo_site_file();
            file.site.id = id.into();
            file.site.name = name.into();
            let site = file.validate().expect("valid site");
            state
                .store
                .create_site(site.into_new_site(now()))
                .await
                .expect("site created");
        }
        let listener = TcpListener::bind("127.0.0.1:0").expect("free port");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let server = app::run_with_routes(listener, state, routes).expect("server runs");
        tokio::spawn(server);
        let signer = Signer::load_or_create(&config.key_path).expect("key");
        TestApp {
            base,
            client: reqwest::Client::new(),
            signer,
            config,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn token(&self, role: Role, site: Option<&str>) -> String {
        self.signer
            .issue_token(role, site, now().as_secs(), 1)
            .expect("token")
    }

    pub async fn published(&self, site: &str) -> PublishedConfig {
        let r = self
            .client
            .get(self.url(&format!("/api/v1/sites/{site}/config")))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200);
        r.json().await.expect("config JSON")
    }

    /// Publishes `file` as a new revision of its site, as the site's owner.
    pub async fn publish(&self, file: &SiteFile) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/v1/sites/{}/revisions", file.site.id)))
            .bearer_auth(self.token(Role::Owner, Some(&file.site.id)))
            .json(file)
            .send()
            .await
            .expect("request")
    }

    /// Posts a decision as a browser on the demo's registered page origin would.
    pub async fn post_consent(&self, site: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/v1/sites/{site}/consents")))
            .header("Origin", PAGE_ORIGIN)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Posts any bytes as a decision body, from a page of the demo's registered origin.
    /// The caller decides what a transport error means.
    pub async fn post_raw(&self, site: &str, body: Vec<u8>) -> reqwest::Result<reqwest::Response> {
        self.client
            .post(self.url(&format!("/api/v1/sites/{site}/consents")))
            .header("Content-Type", "application/json")
            .header("Origin", PAGE_ORIGIN)
            .body(body)
            .send()
            .await
    }

    /// The site's stored decisions, read back through the auditor's NDJSON export.
    pub async fn records(&self, site: &str) -> Vec<ConsentRecord> {
        let token = self.token(Role::Auditor, Some(site));
        let r = self.export(site, "?format=ndjson", Some(&token)).await;
        assert_eq!(r.status(), 200);
        r.text()
            .await
            .expect("export")
            .lines()
            .map(|l| serde_json::from_str(l).expect("a stored record"))
            .collect()
    }

    /// The published key that verifies receipts, and how a receipt is checked with it.
    pub async fn receipt_key(&self) -> (DecodingKey, Validation) {
        let jwks: JwkSet = self
            .client
            .get(self.url("/.well-known/jwks.json"))
            .send()
            .await
            .expect("jwks")
            .json()
            .await
            .expect("JSON");
        let key = DecodingKey::from_jwk(&jwks.keys[0]).expect("Ed25519 JWK");
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[RECEIPT_AUDIENCE]);
        validation.set_required_spec_claims(&["iss", "aud", "sub"]);
        (key, validation)
    }

    /// What a receipt says, once verified with the published key.
    pub async fn receipt_claims(&self, receipt: &str) -> ReceiptClaims {
        let (key, validation) = self.receipt_key().await;
        jsonwebtoken::decode::<ReceiptClaims>(receipt, &key, &validation)
            .expect("receipt verifies")
            .claims
    }

    pub async fn export(&self, site: &str, query: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self
            .client
            .get(self.url(&format!("/api/v1/sites/{site}/consents{query}")));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }
}

impl TestApp {
    /// A site's verifier key, from the deployment's own key and public name (never asked of the
    /// server: an auditor gets it out of band).
    pub fn vkey(&self, site: &str) -> VerifierKey {
        LogKey::new(&self.config.public_name, self.signer.clone())
            .expect("log key")
            .vkey(site)
            .expect("vkey")
    }

    /// A site's export bundle, as an auditor downloads it (`query` adds `&from=…` and the like).
    pub async fn bundle(&self, site: &str, query: &str) -> String {
        let token = self.token(Role::Auditor, Some(site));
        let r = self
            .export(site, &format!("?format=bundle{query}"), Some(&token))
            .await;
        assert_eq!(r.status(), 200);
        r.text().await.expect("bundle")
    }

    /// The auditor's `GET …/log/verify` on the live store: `biscotte verify --site`'s report.
    pub async fn log_report(&self, site: &str) -> serde_json::Value {
        let token = self.token(Role::Auditor, Some(site));
        let r = self
            .client
            .get(self.url(&format!("/api/v1/sites/{site}/log/verify")))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200);
        r.json().await.expect("JSON")
    }

    /// The site's log verifies (tree, tiles, checkpoints, revisions) and holds `decisions`.
    pub async fn assert_log_verifies(&self, site: &str, decisions: u64) {
        let report = self.log_report(site).await;
        assert_eq!(report["ok"], true, "{report}");
        assert_eq!(report["report"]["decisions"], decisions, "{report}");
        let bundle = self.bundle(site, "").await;
        let checked = verify_bundle(&bundle, &self.vkey(site), None);
        assert!(checked.is_ok(), "{:?}", checked.problems);
        assert_eq!(
            checked.decisions, decisions,
            "erased decisions count as decisions"
        );
    }
}

/// Checks a bundle offline, as `biscotte verify --bundle` does.
pub fn verify_bundle(bundle: &str, key: &VerifierKey, since: Option<&str>) -> BundleReport {
    let mut verifier = BundleVerifier::new(key.clone(), since).expect("the since checkpoint");
    for line in bundle.lines() {
        verifier.line(line);
    }
    verifier.finish()
}

/// A bundle with the line of leaf `index` changed by `edit` (an auditor's file, tampered).
pub fn edit_leaf_line(
    bundle: &str,
    index: u64,
    edit: impl FnOnce(&mut serde_json::Value),
) -> String {
    let mut edit = Some(edit);
    bundle
        .lines()
        .map(|line| {
            let mut value: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            if value.get("index").and_then(|i| i.as_u64()) == Some(index)
                && let Some(edit) = edit.take()
            {
                edit(&mut value);
                return format!("{value}\n");
            }
            format!("{line}\n")
        })
        .collect()
}

/// A decision as the banner sends it.
pub fn decision(
    revision: &str,
    consent_id: &str,
    method: Method,
    analytics: bool,
) -> serde_json::Value {
    let all = |v: bool| -> BTreeMap<String, bool> {
        // The demo declares analytics services only: that is the one category it asks about.
        [("analytics", v)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    };
    let categories = match method {
        Method::AcceptAll => all(true),
        Method::RejectAll | Method::Close | Method::Gpc => all(false),
        // An embed allows a service; with its category answered here, the services follow it.
        Method::Custom | Method::Embed => {
            let mut c = all(false);
            c.insert("analytics".into(), analytics);
            c
        }
    };
    serde_json::to_value(ConsentRequest {
        consent_id: consent_id.into(),
        revision: revision.into(),
        method,
        categories,
        services: BTreeMap::new(),
        language: Lang::Fr,
        url: Some("http://127.0.0.1:8080/demo/?utm_source=mail#top".into()),
        undeleted_cookies: Vec::new(),
        decision_id: None,
    })
    .expect("JSON")
}
