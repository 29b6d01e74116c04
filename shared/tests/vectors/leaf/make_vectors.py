#!/usr/bin/env python3
"""Writes the leaf test vectors of this directory from the specification of leaf encoding v1.

It follows the module documentation of shared/src/leaf.rs (the specification), not the Rust code:
nothing here is computed by Biscotte. Python 3 standard library only. Run it from anywhere:

    python3 shared/tests/vectors/leaf/make_vectors.py

It rewrites the *.json files beside it; commit them with it. See README.md.
"""

import hashlib
import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent.parent / "fixtures"

VERSION = 0x01
KIND_LEGACY, KIND_DECISION, KIND_REVISION = 0x00, 0x01, 0x02
METHODS = {"accept_all", "reject_all", "custom", "close", "gpc", "embed"}
LANGUAGES = {"fr", "en"}


# Field types, as the specification lists them.

def u8(n):
    assert 0 <= n < 256
    return bytes([n])


def boolean(b):
    assert isinstance(b, bool)
    return b"\x01" if b else b"\x00"


def u64(n):
    return n.to_bytes(8, "big", signed=False)


def time(ms):
    # A signed 64-bit count of milliseconds, big-endian two's complement.
    return ms.to_bytes(8, "big", signed=True)


def id16(hex32):
    assert re.fullmatch(r"[0-9a-f]{32}", hex32), hex32
    return bytes.fromhex(hex32)


def hash32(hex64):
    assert re.fullmatch(r"[0-9a-f]{64}", hex64), hex64
    return bytes.fromhex(hex64)


def length(n):
    assert 0 <= n < 1 << 16
    return n.to_bytes(2, "big")


def text(s):
    b = s.encode("utf-8")
    return length(len(b)) + b


def opt(value, encode):
    return b"\x00" if value is None else b"\x01" + encode(value)


def byte_order(s):
    return s.encode("utf-8")


def answers(mapping):
    ids = sorted(mapping, key=byte_order)
    # Strictly increasing: each id once (a dict cannot repeat one anyway).
    assert all(byte_order(a) < byte_order(b) for a, b in zip(ids, ids[1:]))
    return length(len(ids)) + b"".join(text(i) + boolean(mapping[i]) for i in ids)


def names(items):
    assert all(byte_order(a) < byte_order(b) for a, b in zip(items, items[1:])), items
    return length(len(items)) + b"".join(text(n) for n in items)


# Kinds. Each returns the leaf as named segments, so that the refused variants below can replace
# one field's bytes and keep the others.

def decision_segments(f):
    assert f["method"] in METHODS and f["language"] in LANGUAGES
    return [
        ("version", u8(VERSION)),
        ("kind", u8(KIND_DECISION)),
        ("record_id", u64(f["record_id"])),
        ("site", text(f["site"])),
        ("consent_id", id16(f["consent_id"])),
        ("server_time", time(f["server_time"])),
        ("revision", id16(f["revision"])),
        ("policy_version", text(f["policy_version"])),
        ("method", text(f["method"])),
        ("categories", answers(f["categories"])),
        ("services", answers(f["services"])),
        ("language", text(f["language"])),
        ("url", opt(f["url"], text)),
        ("undeleted_cookies", names(f["undeleted_cookies"])),
        ("decision_id", opt(f["decision_id"], id16)),
    ]


def revision_segments(f):
    return [
        ("version", u8(VERSION)),
        ("kind", u8(KIND_REVISION)),
        ("site", text(f["site"])),
        ("revision", id16(f["revision"])),
        ("recipe", u8(f["recipe"])),
        ("server_time", time(f["server_time"])),
        ("published_at", time(f["published_at"])),
        ("content_hash", hash32(f["content_hash"])),
    ]


def legacy_json(stored_line):
    """The bytes a stored record's hash covered: the record's line as that release wrote it
    (serde_json's compact output), with its `hash` emptied. The record is its own check: the
    SHA-256 of these bytes must be the hash it carries."""
    record = json.loads(stored_line)
    expected_fields = ["record_id", "site", "consent_id", "server_time", "revision",
                       "policy_version", "method", "categories", "services", "language", "url"]
    if "undeleted_cookies" in record:
        expected_fields.append("undeleted_cookies")
    expected_fields += ["prev_hash", "hash"]
    assert list(record) == expected_fields, list(record)
    tail = '"hash":"%s"}' % record["hash"]
    assert stored_line.endswith(tail)
    hashed = (stored_line[: -len(tail)] + '"hash":""}').encode("utf-8")
    assert hashlib.sha256(hashed).hexdigest() == record["hash"], "the fixture's own hash"
    return record, hashed


def legacy_segments(stored_line):
    _, hashed = legacy_json(stored_line)
    return [("version", u8(VERSION)), ("kind", u8(KIND_LEGACY)), ("json", hashed)]


def join(segments):
    return b"".join(b for _, b in segments)


def replace(segments, name, new):
    assert any(n == name for n, _ in segments), name
    return [(n, new if n == name else b) for n, b in segments]


def leaf_hash(leaf):
    return hashlib.sha256(b"\x00" + leaf).hexdigest()


# The configurations the revision vectors publish, from the repository's fixtures: the raw JSON
# text of `config` (and `words`) as stored, which is the canonical JSON the recipes hash.

def raw_member(doc, key):
    """The exact text of top-level member `key` of a JSON object (strings and nesting tracked)."""
    start = doc.index('"%s":' % key) + len(key) + 3
    depth, i, in_string = 0, start, False
    while True:
        c = doc[i]
        if in_string:
            if c == "\\":
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "{[":
            depth += 1
        elif c in "}]":
            if depth == 0:
                return doc[start:i]
            depth -= 1
        elif c == "," and depth == 0:
            return doc[start:i]
        i += 1


def published(name):
    doc = (FIXTURES / name).read_text(encoding="utf-8")
    return doc, json.loads(doc)


def revision_fields_recipe_1():
    doc, p = published("published-v1.json")
    covered = raw_member(doc, "config").encode("utf-8")
    content = hashlib.sha256(covered).hexdigest()
    assert content[:32] == p["revision"], "recipe 1 reproduces the fixture's revision"
    return {
        "site": p["site"],
        "revision": p["revision"],
        "recipe": 1,
        "server_time": p["published_at"],
        "published_at": p["published_at"],
        "content_hash": content,
    }


def revision_fields_with_words(recipe, fixture, republished_after_ms=0):
    """Recipes 2 and 3 hash {"recipe":N,"config":…,"words":…} (README, Checking a revision)."""
    doc, p = published(fixture)
    covered = ('{"recipe":%d,"config":' % recipe + raw_member(doc, "config") + ',"words":'
               + raw_member(doc, "words") + "}").encode("utf-8")
    content = hashlib.sha256(covered).hexdigest()
    assert content[:32] == p["revision"], "recipe %d reproduces the fixture's revision" % recipe
    return {
        "site": p["site"],
        "revision": p["revision"],
        "recipe": recipe,
        "server_time": p["published_at"] + republished_after_ms,
        "published_at": p["published_at"],
        "content_hash": content,
    }


def revision_fields_recipe_2():
    # Published again a day later: it went live then, first published before.
    return revision_fields_with_words(2, "published-v2.json", republished_after_ms=86_400_000)


def revision_fields_recipe_3():
    _, p = published("published-v3.json")
    # Recipe 3 keeps every word, the singular of a lifetime's among them.
    for lang in ("fr", "en"):
        assert "day" in p["words"][lang] and "days" in p["words"][lang], lang
    return revision_fields_with_words(3, "published-v3.json")


DEMO_REVISION = "97729cdb11d797d4a5203cb45d325b6f"

DECISIONS = {
    "decision-every-field": (
        "a custom choice with every field set: a url, cookies the banner could not delete, "
        "a decision id; answers given out of order (the encoding sorts them)",
        {
            "record_id": 7,
            "site": "demo",
            "consent_id": "0123456789abcdef0123456789abcdef",
            "server_time": 1796220238936,
            "revision": DEMO_REVISION,
            "policy_version": "2026-11",
            "method": "custom",
            "categories": {"analytics": True, "advertising": False},
            "services": {"hotjar": False, "google_analytics": True},
            "language": "fr",
            "url": "https://www.boulangerie.example/produits/",
            "undeleted_cookies": ["_ga", "_gid", "_hjSessionUser_42"],
            "decision_id": "fedcba9876543210fedcba9876543210",
        },
    ),
    "decision-no-url-no-cookies-no-id": (
        "the first decision of a log, from an older banner: no url, no undeleted cookie, "
        "no decision id",
        {
            "record_id": 1,
            "site": "demo",
            "consent_id": "00000000000000000000000000abcdef",
            "server_time": 1790000100000,
            "revision": DEMO_REVISION,
            "policy_version": "2026-11",
            "method": "accept_all",
            "categories": {"analytics": True},
            "services": {"google_analytics": True, "hotjar": True},
            "language": "en",
            "url": None,
            "undeleted_cookies": [],
            "decision_id": None,
        },
    ),
    "decision-gpc": (
        "a refusal signalled by Global Privacy Control",
        {
            "record_id": 42,
            "site": "demo",
            "consent_id": "9f86d081884c7d659a2feaa0c55ad015",
            "server_time": 1796300000000,
            "revision": DEMO_REVISION,
            "policy_version": "2026-11",
            "method": "gpc",
            "categories": {"analytics": False},
            "services": {"google_analytics": False, "hotjar": False},
            "language": "fr",
            "url": "https://www.boulangerie.example/",
            "undeleted_cookies": [],
            "decision_id": "a3c1e2b4d5f60718293a4b5c6d7e8f90",
        },
    ),
    "decision-embed": (
        "one service allowed from its blocked embed",
        {
            "record_id": 43,
            "site": "demo",
            "consent_id": "9f86d081884c7d659a2feaa0c55ad015",
            "server_time": 1796300060000,
            "revision": DEMO_REVISION,
            "policy_version": "2026-11",
            "method": "embed",
            "categories": {"analytics": False},
            "services": {"hotjar": True, "google_analytics": False},
            "language": "fr",
            "url": "https://www.boulangerie.example/videos",
            "undeleted_cookies": [],
            "decision_id": "0b1c2d3e4f5061728394a5b6c7d8e9fa",
        },
    ),
    "decision-edge-values": (
        "values at the edges the encoding allows: the largest record id, a time before 1970 "
        "(two's complement), an empty text, a url and names outside ASCII (lengths count bytes), "
        "ids whose UTF-8 byte order differs from their UTF-16 order (U+FF5E before U+1F36A)",
        {
            "record_id": 18446744073709551615,
            "site": "s",
            "consent_id": "ffffffffffffffffffffffffffffffff",
            "server_time": -1,
            "revision": "00000000000000000000000000000000",
            "policy_version": "",
            "method": "reject_all",
            "categories": {"\U0001F36A": False, "\uFF5E": False, "Z": False, "_a": False},
            "services": {},
            "language": "en",
            "url": "https://www.boulangerie.example/p\u00e2tisserie",
            "undeleted_cookies": ["Z", "_ga", "\uFF5E", "\U0001F36A"],
            "decision_id": "00000000000000000000000000000001",
        },
    ),
}


def vector(name, description, kind, fields, leaf):
    return name, {
        "description": description,
        "kind": kind,
        "fields": fields,
        "leaf": leaf.hex(),
        "leaf_hash": leaf_hash(leaf),
    }


def vectors():
    out = []
    for name, (description, fields) in DECISIONS.items():
        out.append(vector(name, description, "decision", fields, join(decision_segments(fields))))
    for name, description, fields in [
        ("revision-recipe-1",
         "the publication of shared/tests/fixtures/published-v1.json (recipe 1: the canonical "
         "JSON of the configuration)", revision_fields_recipe_1()),
        ("revision-recipe-2",
         "the publication of shared/tests/fixtures/published-v2.json (recipe 2: the configuration "
         "and the banner's words), going live again a day after it was first published",
         revision_fields_recipe_2()),
        ("revision-recipe-3",
         "the publication of shared/tests/fixtures/published-v3.json (recipe 3: the configuration, "
         "whose cookies' purposes are given per language, and every word of the banner)",
         revision_fields_recipe_3()),
    ]:
        out.append(vector(name, description, "revision", fields, join(revision_segments(fields))))
    line = (FIXTURES / "log-before-issue-7.ndjson").read_text(encoding="utf-8").splitlines()[1]
    record, _ = legacy_json(line)
    out.append(vector(
        "legacy-record-2",
        "record 2 of shared/tests/fixtures/log-before-issue-7.ndjson (url null, kept), logged "
        "before the tree: the JSON its hash covered", "legacy", record,
        join(legacy_segments(line))))
    return out


def refused():
    """Bytes that are not a canonical leaf, each with the error the specification implies."""
    full = decision_segments(DECISIONS["decision-every-field"][1])
    minimal = decision_segments(DECISIONS["decision-no-url-no-cookies-no-id"][1])
    rev = revision_segments(revision_fields_recipe_2())
    line = (FIXTURES / "log-before-issue-7.ndjson").read_text(encoding="utf-8").splitlines()[0]
    record, hashed = legacy_json(line)
    legacy_head = u8(VERSION) + u8(KIND_LEGACY)
    ok = hashed.decode("utf-8")

    def entry(name, error, leaf, why):
        return {"name": name, "error": error, "why": why, "leaf": leaf.hex()}

    def pairs(items):
        return length(len(items)) + b"".join(text(i) + u8(v) for i, v in items)

    cases = [
        entry("empty", "truncated", b"", "no version byte"),
        entry("version-only", "truncated", u8(VERSION), "no kind byte"),
        entry("trailing-byte", "trailing_bytes", join(full) + b"\x00",
              "a byte after the last field"),
        entry("revision-trailing-byte", "trailing_bytes", join(rev) + b"\x00",
              "a byte after a revision leaf's content hash"),
        entry("last-byte-missing", "truncated", join(full)[:-1], "the decision id is cut short"),
        entry("text-longer-than-leaf", "truncated",
              join(full[:3]) + length(50) + b"demo", "a text whose length runs past the end"),
        entry("unknown-version-0", "unknown_version", b"\x00" + join(full)[1:],
              "encoding 0 does not exist"),
        entry("unknown-version-2", "unknown_version", b"\x02" + join(full)[1:],
              "encoding 2 does not exist yet"),
        entry("unknown-kind-3", "unknown_kind", join(replace(full, "kind", u8(3))),
              "kinds are 0, 1 and 2"),
        entry("answer-of-2", "not_canonical",
              join(replace(full, "categories", pairs([("advertising", 0), ("analytics", 2)]))),
              "a bool is 0 or 1"),
        entry("answers-unsorted", "not_canonical",
              join(replace(full, "categories", pairs([("analytics", 1), ("advertising", 0)]))),
              "answers in increasing byte order of id"),
        entry("answers-duplicated", "not_canonical",
              join(replace(full, "services",
                           pairs([("google_analytics", 1), ("google_analytics", 1),
                                  ("hotjar", 0)]))),
              "each id once"),
        entry("names-unsorted", "not_canonical",
              join(replace(full, "undeleted_cookies",
                           length(2) + text("_gid") + text("_ga"))),
              "names in increasing byte order"),
        entry("names-duplicated", "not_canonical",
              join(replace(full, "undeleted_cookies",
                           length(2) + text("_ga") + text("_ga"))),
              "each name once"),
        entry("url-option-tag-2", "not_canonical",
              join(replace(full, "url", b"\x02" + text("https://www.boulangerie.example/"))),
              "an option tag is 0 or 1"),
        entry("decision-id-option-tag-2", "not_canonical",
              join(replace(minimal, "decision_id", b"\x02" + bytes(16))),
              "an option tag is 0 or 1"),
        entry("site-not-utf8", "not_canonical",
              join(replace(full, "site", length(4) + b"d\xc3\x28o")), "texts are UTF-8"),
        entry("site-overlong-utf8", "not_canonical",
              join(replace(full, "site", length(5) + b"dem\xc1\xaf")),
              "an overlong UTF-8 form is not UTF-8"),
        entry("method-unknown", "not_canonical",
              join(replace(full, "method", text("accept"))), "methods are the six listed"),
        entry("method-upper-case", "not_canonical",
              join(replace(full, "method", text("CUSTOM"))), "methods are written in lower case"),
        entry("language-unknown", "not_canonical",
              join(replace(full, "language", text("de"))), "languages are fr and en"),
        entry("recipe-4", "not_canonical", join(replace(rev, "recipe", u8(4))),
              "recipes are 1, 2 and 3"),
        entry("legacy-spaced-json", "not_canonical",
              legacy_head + ok.replace('"site":', '"site": ', 1).encode("utf-8"),
              "serde_json's compact form has no space"),
        entry("legacy-pretty-json", "not_canonical",
              legacy_head + json.dumps(json.loads(ok), indent=1, ensure_ascii=False)
              .encode("utf-8"), "serde_json's compact form has no newline"),
        entry("legacy-trailing-newline", "not_canonical",
              legacy_head + hashed + b"\n", "nothing after the JSON"),
        entry("legacy-with-its-hash", "not_canonical",
              legacy_head + line.encode("utf-8"), "the hash covered the JSON with \"hash\":\"\""),
        entry("legacy-fields-reordered", "not_canonical",
              legacy_head + json.dumps(
                  dict(sorted(json.loads(ok).items())), separators=(",", ":"),
                  ensure_ascii=False).encode("utf-8"),
              "fields in the record's order, not sorted"),
        entry("legacy-services-unsorted", "not_canonical",
              legacy_head + ok.replace(
                  '"services":{"google_analytics":true,"hotjar":true}',
                  '"services":{"hotjar":true,"google_analytics":true}').encode("utf-8"),
              "serde_json writes a map in increasing key order"),
        entry("legacy-escaped-letter", "not_canonical",
              legacy_head + ok.replace('"site":"demo"', '"site":"d\\u0065mo"').encode("utf-8"),
              "serde_json escapes only quotes, backslashes and control characters"),
        entry("legacy-empty-cookies-written", "not_canonical",
              legacy_head + ok.replace('"prev_hash"', '"undeleted_cookies":[],"prev_hash"')
              .encode("utf-8"),
              "an empty undeleted_cookies is left out"),
        entry("legacy-url-left-out", "not_canonical",
              legacy_head + re.sub(r',"url":"[^"]*"', "", ok).encode("utf-8"),
              "a url is written, null when absent"),
        entry("legacy-not-json", "not_canonical", legacy_head + b"record 1", "JSON"),
    ]
    for case in cases:
        assert case["leaf"] != "" or case["name"] == "empty"
    # The variants really differ from the canonical bytes they start from.
    assert legacy_head + hashed not in [bytes.fromhex(c["leaf"]) for c in cases]
    assert record["url"] is not None
    return cases


def write(name, value):
    text_out = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    (HERE / f"{name}.json").write_text(text_out, encoding="utf-8")


def main():
    for name, value in vectors():
        write(name, value)
    write("refused", {
        "description": "bytes that are not a canonical leaf v1, and the error each must get: "
                       "truncated, trailing_bytes, unknown_version, unknown_kind, not_canonical",
        "cases": refused(),
    })


if __name__ == "__main__":
    main()
