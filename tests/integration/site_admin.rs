//! Publishing revisions over HTTP while the server holds the store.

use crate::harness::{TestApp, decision, demo_site_file};
use biscotte_server::auth::Role;
use biscotte_shared::Method;

#[tokio::test]
async fn an_owner_publishes_a_revision_and_earlier_decisions_still_validate() {
    let app = TestApp::start().await;
    let v1 = app.published("demo").await.revision;
    let mut file = demo_site_file();
    let mut youtube = file.consent.services[0].clone();
    youtube.id = Some("youtube".into());
    youtube.name = Some("YouTube".into());
    youtube.category = Some("third_party".into());
    file.consent.services.push(youtube);
    let url = app.url("/api/v1/sites/demo/revisions");

    let r = app
        .client
        .post(&url)
        .json(&file)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 401);
    let auditor = app.token(Role::Auditor, Some("demo"));
    assert_eq!(
        app.client
            .post(&url)
            .bearer_auth(&auditor)
            .json(&file)
            .send()
            .await
            .expect("request")
            .status(),
        403
    );

    let owner = app.token(Role::Owner, Some("demo"));
    let r = app
        .client
        .post(&url)
        .bearer_auth(&owner)
        .json(&file)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 201);
    let v2 = app.published("demo").await;
    assert_ne!(v2.revision, v1);
    assert!(v2.config.service("youtube").is_some());

    // A visitor who loaded the page before the publication can still decide on what they saw.
    let r = app
        .post_consent(
            "demo",
            &decision(
                v1.as_str(),
                &format!("{:032x}", 1),
                Method::RejectAll,
                false,
            ),
        )
        .await;
    assert_eq!(r.status(), 201);

    let mut broken = demo_site_file();
    broken.consent.services[0].category = Some("analytcs".into());
    let r = app
        .client
        .post(&url)
        .bearer_auth(&owner)
        .json(&broken)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .expect("text")
            .contains("consent.services[0].category")
    );
    assert_eq!(
        app.published("demo").await.revision,
        v2.revision,
        "a rejected file changes nothing"
    );
}
