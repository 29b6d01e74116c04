//! Reads the server's JSON answers (the published configuration, a receipt) from the values the
//! browser's `JSON.parse` made of them, field by field and without serde: a JSON decoder compiled
//! into the wasm weighed more than the rest of the banner.
//!
//! The reading is as strict as the serde derives of `biscotte_shared`: a missing field or a
//! wrong type is an error naming the field, services and cookie declarations accept no unknown
//! field, and only `cookies` and `domain` may be left out. The reader is written against the
//! small [`Json`] trait so that host tests can check it against serde with `serde_json::Value`.

use biscotte_shared::api::{ConsentResponse, PublishedConfig};
use biscotte_shared::config::{BannerTexts, Category, CookieDecl, Service, Texts};
use biscotte_shared::{Localized, Revision, SiteConfig, Timestamp};
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// A parsed JSON value, as far as the reader needs to see it.
pub trait Json: Sized {
    /// The value of `key`, when this is an object that has it.
    fn field(&self, key: &str) -> Option<Self>;
    /// The keys of an object (none for anything else).
    fn keys(&self) -> Vec<String>;
    /// The items of an array.
    fn items(&self) -> Option<Vec<Self>>;
    fn string(&self) -> Option<String>;
    fn boolean(&self) -> Option<bool>;
    fn number(&self) -> Option<f64>;
    fn is_null(&self) -> bool;
}

impl Json for JsValue {
    fn field(&self, key: &str) -> Option<JsValue> {
        if !self.is_object() {
            return None;
        }
        // `JSON.parse` never makes `undefined`: it means the key is absent.
        Reflect::get(self, &JsValue::from_str(key))
            .ok()
            .filter(|v| !v.is_undefined())
    }
    fn keys(&self) -> Vec<String> {
        match self.dyn_ref::<Object>() {
            Some(object) => Object::keys(object)
                .iter()
                .filter_map(|k| k.as_string())
                .collect(),
            None => Vec::new(),
        }
    }
    fn items(&self) -> Option<Vec<JsValue>> {
        Array::is_array(self).then(|| self.unchecked_ref::<Array>().iter().collect())
    }
    fn string(&self) -> Option<String> {
        self.as_string()
    }
    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }
    fn number(&self) -> Option<f64> {
        self.as_f64()
    }
    fn is_null(&self) -> bool {
        JsValue::is_null(self)
    }
}

/// Why an answer cannot be read: the field at fault, as a path from the top, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    pub path: String,
    pub problem: &'static str,
}

impl Unreadable {
    fn at(key: &str, problem: &'static str) -> Unreadable {
        Unreadable {
            path: key.to_owned(),
            problem,
        }
    }

    /// Puts the enclosing field, and the item's place when it is in a list, before the path.
    fn inside(mut self, key: &str, index: Option<usize>) -> Unreadable {
        let mut outer = key.to_owned();
        if let Some(i) = index {
            outer.push('[');
            outer.push_str(&i.to_string());
            outer.push(']');
        }
        outer.push('.');
        self.path.insert_str(0, &outer);
        self
    }

    /// `config.services[1].name is missing or not a string`.
    pub fn message(&self) -> String {
        let mut message = self.path.clone();
        message.push(' ');
        message.push_str(self.problem);
        message
    }
}

type Read<T> = Result<T, Unreadable>;

/// `GET /api/v1/sites/{site}/config`, as `JSON.parse` read it.
pub fn published_config<J: Json>(value: &J) -> Read<PublishedConfig> {
    let revision = text(value, "revision")?;
    Ok(PublishedConfig {
        site: text(value, "site")?,
        // Stricter than serde here: a revision is only ever what `Revision::of` made.
        revision: Revision::parse(&revision)
            .ok_or_else(|| Unreadable::at("revision", "is not 32 lowercase hex digits"))?,
        published_at: Timestamp::from_millis(whole(
            value,
            "published_at",
            i64::MIN as f64,
            i64::MAX as f64,
        )? as i64),
        config: nested(value, "config", site_config)?,
    })
}

/// The answer to a recorded decision.
pub fn consent_response<J: Json>(value: &J) -> Read<ConsentResponse> {
    Ok(ConsentResponse {
        record_id: whole(value, "record_id", 0.0, u64::MAX as f64)? as u64,
        server_time: Timestamp::from_millis(whole(
            value,
            "server_time",
            i64::MIN as f64,
            i64::MAX as f64,
        )? as i64),
        receipt: text(value, "receipt")?,
    })
}

fn site_config<J: Json>(value: &J) -> Read<SiteConfig> {
    Ok(SiteConfig {
        publisher: text(value, "publisher")?,
        policy_version: text(value, "policy_version")?,
        policy_url: text(value, "policy_url")?,
        categories: list(value, "categories", false, category)?,
        services: list(value, "services", false, service)?,
        texts: nested(value, "texts", |t| {
            Ok(Texts {
                fr: nested(t, "fr", banner_texts)?,
                en: nested(t, "en", banner_texts)?,
            })
        })?,
    })
}

fn category<J: Json>(value: &J) -> Read<Category> {
    Ok(Category {
        id: text(value, "id")?,
        required: flag(value, "required")?,
        title: nested(value, "title", localized)?,
        description: nested(value, "description", localized)?,
    })
}

fn localized<J: Json>(value: &J) -> Read<Localized> {
    Ok(Localized {
        fr: text(value, "fr")?,
        en: text(value, "en")?,
    })
}

fn service<J: Json>(value: &J) -> Read<Service> {
    only_fields(
        value,
        &[
            "id",
            "name",
            "provider",
            "category",
            "privacy_policy_url",
            "cookies",
        ],
    )?;
    Ok(Service {
        id: text(value, "id")?,
        name: text(value, "name")?,
        provider: text(value, "provider")?,
        category: text(value, "category")?,
        privacy_policy_url: text(value, "privacy_policy_url")?,
        cookies: list(value, "cookies", true, cookie_decl)?,
    })
}

fn cookie_decl<J: Json>(value: &J) -> Read<CookieDecl> {
    only_fields(value, &["name", "domain", "lifetime_days", "purpose"])?;
    let domain = match value.field("domain") {
        None => None,
        Some(d) if d.is_null() => None,
        Some(d) => Some(
            d.string()
                .ok_or_else(|| Unreadable::at("domain", "is not a string or null"))?,
        ),
    };
    Ok(CookieDecl {
        name: text(value, "name")?,
        domain,
        lifetime_days: whole(value, "lifetime_days", 0.0, u32::MAX as f64)? as u32,
        purpose: text(value, "purpose")?,
    })
}

fn banner_texts<J: Json>(value: &J) -> Read<BannerTexts> {
    Ok(BannerTexts {
        title: text(value, "title")?,
        body: text(value, "body")?,
        accept_all: text(value, "accept_all")?,
        reject_all: text(value, "reject_all")?,
        customize: text(value, "customize")?,
        save: text(value, "save")?,
        close: text(value, "close")?,
        manage: text(value, "manage")?,
        policy_link: text(value, "policy_link")?,
    })
}

fn text<J: Json>(object: &J, key: &str) -> Read<String> {
    object
        .field(key)
        .and_then(|v| v.string())
        .ok_or_else(|| Unreadable::at(key, "is missing or not a string"))
}

fn flag<J: Json>(object: &J, key: &str) -> Read<bool> {
    object
        .field(key)
        .and_then(|v| v.boolean())
        .ok_or_else(|| Unreadable::at(key, "is missing or not true or false"))
}

/// A whole number between `min` and `max`, returned as read so the caller casts it.
fn whole<J: Json>(object: &J, key: &str, min: f64, max: f64) -> Read<f64> {
    object
        .field(key)
        .and_then(|v| v.number())
        .filter(|n| n.trunc() == *n && (min..=max).contains(n))
        .ok_or_else(|| Unreadable::at(key, "is missing or not a whole number in range"))
}

fn nested<J: Json, T>(object: &J, key: &str, read: impl Fn(&J) -> Read<T>) -> Read<T> {
    let value = object
        .field(key)
        .ok_or_else(|| Unreadable::at(key, "is missing or not an object"))?;
    read(&value).map_err(|e| e.inside(key, None))
}

/// A list of items; `optional`: a missing list reads as empty (serde's `#[serde(default)]`).
fn list<J: Json, T>(
    object: &J,
    key: &str,
    optional: bool,
    read: impl Fn(&J) -> Read<T>,
) -> Read<Vec<T>> {
    let items = match object.field(key) {
        None if optional => return Ok(Vec::new()),
        value => value
            .and_then(|v| v.items())
            .ok_or_else(|| Unreadable::at(key, "is missing or not a list"))?,
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        out.push(read(item).map_err(|e| e.inside(key, Some(i)))?);
    }
    Ok(out)
}

/// serde's `deny_unknown_fields`.
fn only_fields<J: Json>(object: &J, known: &[&str]) -> Read<()> {
    match object
        .keys()
        .into_iter()
        .find(|k| !known.contains(&k.as_str()))
    {
        Some(unknown) => Err(Unreadable::at(&unknown, "is not a field Biscotte knows")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    impl Json for Value {
        fn field(&self, key: &str) -> Option<Value> {
            self.get(key).cloned()
        }
        fn keys(&self) -> Vec<String> {
            self.as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        }
        fn items(&self) -> Option<Vec<Value>> {
            self.as_array().cloned()
        }
        fn string(&self) -> Option<String> {
            self.as_str().map(str::to_owned)
        }
        fn boolean(&self) -> Option<bool> {
            self.as_bool()
        }
        fn number(&self) -> Option<f64> {
            self.as_f64()
        }
        fn is_null(&self) -> bool {
            Value::is_null(self)
        }
    }

    fn published() -> PublishedConfig {
        let config = crate::view::tests::bakery();
        PublishedConfig {
            site: "bakery".into(),
            revision: Revision::of(&config),
            published_at: Timestamp::from_millis(1_790_000_000_000),
            config,
        }
    }

    /// Reads `value` both ways: the reader, and serde as the server's types define it.
    fn both(value: &Value) -> (Read<PublishedConfig>, bool) {
        let by_serde = serde_json::from_value::<PublishedConfig>(value.clone()).is_ok();
        (published_config(value), by_serde)
    }

    #[test]
    fn a_published_configuration_reads_back_exactly() {
        let published = published();
        let value = serde_json::to_value(&published).expect("serializable");
        assert_eq!(published_config(&value), Ok(published));
    }

    #[test]
    fn optional_fields_may_be_left_out_or_null_as_serde_allows() {
        let mut value = serde_json::to_value(published()).expect("serializable");
        let services = &mut value["config"]["services"];
        services[0]["cookies"][0]["domain"] = Value::Null;
        services[1]["cookies"][0]["domain"] = json!("hotjar.com");
        services[2]
            .as_object_mut()
            .expect("an object")
            .remove("cookies");
        let (read, by_serde) = both(&value);
        let read = read.expect("readable");
        assert!(by_serde);
        assert_eq!(
            read,
            serde_json::from_value::<PublishedConfig>(value).expect("readable by serde")
        );
        assert!(read.config.services[2].cookies.is_empty());
    }

    #[test]
    fn every_unreadable_answer_names_its_field() {
        let check = |change: &dyn Fn(&mut Value), path: &str| {
            let mut value = serde_json::to_value(published()).expect("serializable");
            change(&mut value);
            let (read, by_serde) = both(&value);
            assert!(
                !by_serde,
                "serde reads this one, the reader should too: {path}"
            );
            assert_eq!(read.map_err(|e| e.path), Err(path.to_owned()));
        };
        check(&|v| v["site"] = json!(7), "site");
        check(&|v| v["published_at"] = json!(1.5), "published_at");
        check(&|v| v["config"] = json!("x"), "config.publisher");
        check(
            &|v| v["config"]["categories"] = Value::Null,
            "config.categories",
        );
        check(
            &|v| v["config"]["categories"][1]["required"] = json!("no"),
            "config.categories[1].required",
        );
        check(
            &|v| v["config"]["categories"][0]["title"]["en"] = Value::Null,
            "config.categories[0].title.en",
        );
        check(
            &|v| v["config"]["services"][2]["colour"] = json!("red"),
            "config.services[2].colour",
        );
        check(
            &|v| v["config"]["services"][0]["cookies"][1]["lifetime_days"] = json!(-1),
            "config.services[0].cookies[1].lifetime_days",
        );
        check(
            &|v| v["config"]["services"][0]["cookies"][1]["domain"] = json!(3),
            "config.services[0].cookies[1].domain",
        );
        check(
            &|v| {
                v["config"]["texts"]["en"]
                    .as_object_mut()
                    .expect("an object")
                    .remove("save");
            },
            "config.texts.en.save",
        );
        check(&|v| *v = json!([]), "revision");
    }

    #[test]
    fn unknown_fields_outside_services_and_cookies_are_ignored_as_by_serde() {
        let mut value = serde_json::to_value(published()).expect("serializable");
        value["config"]["colour"] = json!("red");
        value["config"]["categories"][0]["icon"] = json!("x");
        let (read, by_serde) = both(&value);
        assert!(by_serde);
        assert_eq!(read, Ok(published()));
    }

    #[test]
    fn a_receipt_reads_like_serde_reads_it() {
        let value =
            json!({"record_id": 3, "server_time": 1_790_000_000_000_i64, "receipt": "a.b.c"});
        let expected: ConsentResponse = serde_json::from_value(value.clone()).expect("readable");
        assert_eq!(consent_response(&value), Ok(expected));
        let unsigned = json!({"record_id": 3, "server_time": 1});
        assert_eq!(
            consent_response(&unsigned).map_err(|e| e.message()),
            Err("receipt is missing or not a string".to_owned())
        );
    }
}
