#!/usr/bin/env python3
"""Writes the projection test vectors of this directory from the specification of format
biscotte-banner-3.

It follows the module documentation of shared/src/projection.rs (the specification), not the Rust
code: nothing here is computed by Biscotte. Python 3 standard library only. Run it from anywhere:

    python3 shared/tests/vectors/projection/make_vectors.py

It rewrites the *.json files beside it; commit them with it. See README.md.
"""

import copy
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent.parent / "fixtures"

FORMAT = "biscotte-banner-3"
RS, FS = "\x1e", "\x1f"
LIST = " "
YES = "1"
# The categories every site has (README, "Categories"); the site's own come after them.
BUILT_IN = ("necessary", "analytics", "third_party", "advertising")
MANAGE = {"bottom-left": "left", "bottom-right": "right", "off": "off"}


def text(value, lang):
    """A service's name or provider, or a cookie's purpose: one string for every language, or
    {"fr": …, "en": …}."""
    return value if isinstance(value, str) else value[lang]


def web_link(url):
    """The URL when it starts, after leading whitespace, with https:// or http:// in any case, or
    with /; else empty."""
    start = url.lstrip()
    ok = start[:8].lower() == "https://" or start[:7].lower() == "http://" or start.startswith("/")
    return url if ok else ""


def takes_plural(lang, n):
    # French: 0 and 1 take the singular; English: only 1 does.
    return n > 1 if lang == "fr" else n != 1


def lifetime(words, lang, days):
    return "%d\u00a0%s" % (days, words["days"] if takes_plural(lang, days) else words["day"])


def asked(category, services):
    if category["required"]:
        return False
    return category["id"] not in BUILT_IN or any(s["category"] == category["id"] for s in services)


def clean(field):
    # A separator inside a text becomes a space.
    return field.replace(RS, " ").replace(FS, " ")


def project(published, lang):
    """The projection's records (lists of fields) and what a reader reads from them."""
    config, words = published["config"], published["words"][lang]
    manage = MANAGE[config.get("banner", {}).get("manage_button", "bottom-left")]
    head = [FORMAT, published["site"], published["revision"], config["policy_version"], lang,
            web_link(config["policy_url"]), manage]
    t = config["texts"][lang]
    texts = [t["title"], t["body"], t["accept_all"], t["reject_all"], t["customize"], t["save"],
             t["close"], "%s (%s)" % (t["close"], words["close_refuses"]), t["manage"],
             t["policy_link"], words["always_on"], words["privacy_policy"], words["cookies"],
             words["no_service"], words["removed_by_service"], words["embed_blocked"],
             words["embed_allow"], words["escape_hint"]]
    records, cats, svcs = [head, texts], [], []
    services = config["services"]
    for c in config["categories"]:
        if not (c["required"] or asked(c, services)):
            continue
        fields = ["c", c["id"], YES if c["required"] else "", c["title"][lang], c["description"][lang]]
        records.append(fields)
        cats.append({"id": clean(fields[1]), "req": c["required"], "title": clean(fields[3]),
                     "desc": clean(fields[4])})
    for s in services:
        fields = ["s", s["id"], s["category"], text(s["name"], lang), text(s["provider"], lang),
                  web_link(s["privacy_policy_url"]), LIST.join(s.get("consent_mode", [])),
                  LIST.join(s.get("storage", []))]
        cookies = []
        for k in s.get("cookies", []):
            hidden = k.get("http_only", False) or k.get("third_party", False)
            cookie = [k["name"], lifetime(words, lang, k["lifetime_days"]), text(k["purpose"], lang),
                      YES if hidden else ""]
            fields += cookie
            cookies.append({"name": clean(cookie[0]), "lifetime": clean(cookie[1]),
                            "purpose": clean(cookie[2]), "hidden": hidden})
        records.append(fields)
        svcs.append({"id": clean(fields[1]), "cat": clean(fields[2]), "name": clean(fields[3]),
                     "provider": clean(fields[4]), "url": clean(fields[5]),
                     "modes": s.get("consent_mode", []), "keys": s.get("storage", []),
                     "cookies": cookies})
    projection = RS.join(FS.join(clean(f) for f in r) for r in records)
    reads = {
        # What the engine alone reads (shared/src/banner_config.rs); the loader does not.
        "site": clean(head[1]),
        "policy_version": clean(head[3]),
        # What both read; the names are the loader's (banner-wasm/js/page.js, readProjection).
        "rev": head[2],
        "lang": lang,
        "policy": clean(head[5]),
        "manage": manage,
        "t": [clean(x) for x in texts],
        "cats": cats,
        "svcs": svcs,
    }
    return projection, reads


def demo():
    return json.loads((FIXTURES / "published-v3.json").read_text(encoding="utf-8"))


def localized(fr, en):
    return {"fr": fr, "en": en}


def edges():
    """A revision written to reach every rule of the specification (stored before publication
    refused control characters, so that its texts may hold separators)."""
    p = demo()
    p["site"] = "shop"
    p["revision"] = "0123456789abcdef0123456789abcdef"
    c = p["config"]
    c["policy_url"] = "  HTTPS://shop.example/privacy"
    c["banner"] = {"manage_button": "bottom-right", "wait_for_check": True}
    c["texts"]["en"]["title"] = "Your\x1echoices\x1fhere"
    c["texts"]["fr"]["title"] = "Vos\x1echoix\x1fici"
    c["categories"].append({"id": "chat", "required": False,
                            "title": localized("Discussion", "Chat"),
                            "description": localized("La discussion en ligne.", "The live chat.")})
    c["services"] = [
        {"id": "lb", "name": "Load balancer", "provider": "Shop", "category": "necessary",
         "privacy_policy_url": "javascript:alert(1)", "cookies": []},
        {"id": "ga", "name": localized("Mesure Google", "Google measurement"),
         "provider": "Google Ireland Limited", "category": "analytics",
         "privacy_policy_url": "https://policies.google.com/privacy",
         "cookies": [
             {"name": "_ga", "lifetime_days": 395,
              "purpose": localized("Distinguer les visiteurs", "Tell visitors apart")},
             {"name": "_gid", "lifetime_days": 1, "purpose": "24 h"},
             {"name": "_ga_*", "lifetime_days": 0,
              "purpose": localized("Session\x1f(navigateur)", "Session\x1e(browser)")},
             {"name": "_gac", "lifetime_days": 2, "purpose": localized("Campagne", "Campaign"),
              "http_only": True},
         ],
         "storage": ["ga_key", "ga_*"],
         "consent_mode": ["analytics_storage", "ad_storage"]},
        {"id": "talk", "name": "Talk", "provider": localized("Talk SAS", "Talk Ltd"),
         "category": "chat", "privacy_policy_url": "/privacy#talk",
         "cookies": [{"name": "talk_id", "lifetime_days": 30, "purpose": "Talk",
                      "third_party": True}]},
    ]
    p["words"]["en"]["always_on"] = "Always active"
    return p


CASES = [
    ("demo-fr", "the demo (shared/tests/fixtures/published-v3.json) in French: purposes per "
     "language, lifetimes of 1 and of several days", demo, "fr"),
    ("demo-en", "the demo in English", demo, "en"),
    ("edges-fr", "every rule in French: a required category and a site's own, a built-in one "
     "without a service left out, a service of every language and one per language, lifetimes of "
     "0, 1, 2 and 395 days, hidden cookies, lists, links that are not web links, separators "
     "inside texts, the manage button on the right, a word kept with the revision", edges, "fr"),
    ("edges-en", "the same in English", edges, "en"),
]


def main():
    for name, description, make, lang in CASES:
        published = make()
        projection, reads = project(copy.deepcopy(published), lang)
        vector = {"description": description, "published": published, "lang": lang,
                  "projection": projection, "reads": reads}
        (HERE / (name + ".json")).write_text(
            json.dumps(vector, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


main()
