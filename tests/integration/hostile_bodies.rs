//! Generated and mutated decision bodies thrown at the real app: every answer is a 2xx or a 4xx
//! in the JSON envelope, no connection is dropped, and a 4xx stores nothing.
//! `PROPTEST_CASES` raises the number of cases (256 by default).

use crate::harness::{TestApp, decision};
use biscotte_shared::Method;
use biscotte_shared::api::{DECISION_BODY_LIMIT, ErrorBody};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;
use std::cell::Cell;

const FIELDS: [&str; 7] = [
    "consent_id",
    "revision",
    "method",
    "categories",
    "services",
    "language",
    "url",
];

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        hostile_string().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            prop::collection::btree_map(hostile_string(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Short and huge, ASCII and not, printable and control characters.
fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z_]{0,48}",
        "https?://[a-z.]{1,20}(:[0-9]{1,5})?/[^?#]{0,40}([?#].{0,20})?",
        (any::<char>(), 0usize..12_000).prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
}

/// Page URLs: plausible ones, and long ones of any one character after a real origin.
fn page_url() -> impl Strategy<Value = String> {
    prop_oneof![
        "https?://([a-z]{1,8}(:[a-z]{0,8})?@)?[a-z.]{1,20}(:[0-9]{1,5})?(/[^/?#]{0,10}){0,5}([?#].{0,20})?",
        (any::<char>(), 1_000usize..5_000)
            .prop_map(|(c, n)| format!("http://127.0.0.1:8080/{}", c.to_string().repeat(n))),
    ]
}

/// How a valid body is spoiled.
#[derive(Clone, Debug)]
enum Spoil {
    Keep,
    Replace(usize, Value),
    Remove(usize),
    Extra(String, Value),
    /// A map of many entries in `categories` or `services`.
    BigMap(bool, Vec<(String, Value)>),
    /// A value nested this deep in a field.
    Nest(usize, usize),
    /// The same key twice, at the top level or in `categories`.
    Duplicate(bool, Value),
    Truncate(usize),
    FlipByte(usize, u8),
    Bytes(Vec<u8>),
}

fn spoil() -> impl Strategy<Value = Spoil> {
    let field = 0..FIELDS.len();
    prop_oneof![
        1 => Just(Spoil::Keep),
        3 => (field.clone(), any_json()).prop_map(|(f, v)| Spoil::Replace(f, v)),
        1 => field.clone().prop_map(Spoil::Remove),
        1 => (hostile_string(), any_json()).prop_map(|(k, v)| Spoil::Extra(k, v)),
        2 => page_url().prop_map(|url| Spoil::Replace(6, url.into())),
        2 => (
            any::<bool>(),
            prop::collection::vec(
                (
                    prop_oneof![3 => "[a-z_]{1,40}", 1 => any::<String>()],
                    prop_oneof![9 => any::<bool>().prop_map(Value::from), 1 => any_json()]
                ),
                0..1_500
            )
        )
            .prop_map(|(services, entries)| Spoil::BigMap(services, entries)),
        1 => (field.clone(), 1usize..20_000).prop_map(|(f, depth)| Spoil::Nest(f, depth)),
        1 => (any::<bool>(), any_json()).prop_map(|(inner, v)| Spoil::Duplicate(inner, v)),
        1 => any::<usize>().prop_map(Spoil::Truncate),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Spoil::FlipByte(at, b)),
        1 => prop::collection::vec(any::<u8>(), 0..4_096).prop_map(Spoil::Bytes),
    ]
}

fn field(i: usize) -> &'static str {
    FIELDS.get(i).copied().unwrap_or("url")
}

fn apply(valid: &Value, spoil: &Spoil) -> Vec<u8> {
    let text = |v: &Value| serde_json::to_vec(v).expect("JSON");
    let mut body = valid.clone();
    let object = body.as_object_mut().expect("an object");
    match spoil {
        Spoil::Keep => {}
        Spoil::Replace(f, v) => {
            object.insert(field(*f).into(), v.clone());
        }
        Spoil::Remove(f) => {
            object.remove(field(*f));
        }
        Spoil::Extra(k, v) => {
            object.insert(k.clone(), v.clone());
        }
        Spoil::BigMap(services, entries) => {
            let map = entries.iter().cloned().collect::<serde_json::Map<_, _>>();
            let key = if *services { "services" } else { "categories" };
            object.insert(key.into(), map.into());
        }
        Spoil::Nest(f, depth) => {
            let nested = format!("{}1{}", "[".repeat(*depth), "]".repeat(*depth));
            let key = field(*f);
            let placeholder = "\u{1}nest\u{1}";
            object.insert(key.into(), placeholder.into());
            let written = String::from_utf8(text(&body)).expect("UTF-8");
            return written
                .replace(&format!("\"{}\"", "\\u0001nest\\u0001"), &nested)
                .into_bytes();
        }
        Spoil::Duplicate(inner, v) => {
            let written = String::from_utf8(text(&body)).expect("UTF-8");
            let value = String::from_utf8(text(v)).expect("UTF-8");
            return if *inner {
                written.replacen(
                    "\"categories\":{",
                    &format!("\"categories\":{{\"analytics\":{value},"),
                    1,
                )
            } else {
                written.replacen('{', &format!("{{\"consent_id\":{value},"), 1)
            }
            .into_bytes();
        }
        Spoil::Truncate(at) => {
            let mut bytes = text(&body);
            bytes.truncate(at % bytes.len().max(1));
            return bytes;
        }
        Spoil::FlipByte(at, b) => {
            let mut bytes = text(&body);
            let len = bytes.len();
            if let Some(byte) = bytes.get_mut(at % len.max(1)) {
                *byte = *b;
            }
            return bytes;
        }
        Spoil::Bytes(bytes) => return bytes.clone(),
    }
    text(&body)
}

#[test]
fn hostile_decision_bodies_get_a_2xx_or_a_json_4xx_and_a_4xx_stores_nothing() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let app = rt.block_on(TestApp::start());
    let revision = rt.block_on(app.published("demo")).revision;
    let valid = decision(
        revision.as_str(),
        "0123456789abcdef0123456789abcdef",
        Method::Custom,
        true,
    );
    let stored = Cell::new(0usize);
    let config = Config {
        // `Config::default()` reads PROPTEST_CASES; 256 unless it is set.
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&spoil(), |spoil| {
        let body = apply(&valid, &spoil);
        let size = body.len();
        rt.block_on(async {
            let response = app
                .post_raw("demo", body)
                .await
                .map_err(|e| TestCaseError::fail(format!("the connection was dropped: {e:?}")))?;
            let status = response.status();
            let text = response
                .text()
                .await
                .map_err(|e| TestCaseError::fail(format!("the body was cut: {e:?}")))?;
            let count = app.records("demo").await.len();
            if size > DECISION_BODY_LIMIT {
                prop_assert_eq!(status.as_u16(), 413, "{} bytes: {}", size, text);
            }
            if status.is_success() {
                prop_assert_eq!(count, stored.get() + 1, "a 2xx stores one record");
                stored.set(count);
            } else {
                prop_assert!(status.is_client_error(), "{}: {}", status, text);
                let envelope = serde_json::from_str::<ErrorBody>(&text);
                prop_assert!(
                    envelope.is_ok(),
                    "a {} without the envelope: {}",
                    status,
                    text
                );
                prop_assert_eq!(count, stored.get(), "a {} stored something", status);
            }
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
