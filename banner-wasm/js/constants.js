// What the loader shares with Rust: the projection's layout (shared/src/projection.rs), the
// consent rules' numbers (shared/src/rules.rs) and the names the protocol uses. Each value here
// is written once in Rust; tests/browser/constants.test.mjs reads both and fails on a difference.

/** The projection's format name, its record and field separators. */
export var FORMAT = 'biscotte-banner-3', RS = '\x1e', FS = '\x1f';
/** The texts record (record 1), by position. */
export var T_TITLE = 0, T_BODY = 1, T_ACCEPT = 2, T_REJECT = 3, T_CUSTOMIZE = 4, T_SAVE = 5, T_CLOSE = 6,
  T_CLOSE_LABEL = 7, T_MANAGE = 8, T_POLICY = 9, T_ALWAYS = 10, T_PRIVACY = 11, T_COOKIES = 12,
  T_NO_SERVICE = 13, T_BY_SERVICE = 14, T_EMBED = 15, T_ALLOW = 16, T_ESCAPE = 17;
/** The consent cookie's name. */
export var COOKIE_NAME = 'biscotte';
export var DAY_MS = 864e5;
/** A choice holds 182 days; no managed cookie lives past 395 days (13 months). */
export var CHOICE_DAYS = 182, COOKIE_MAX_DAYS = 395;
/** Google Consent Mode v2's types a service may declare; `security_storage` is always granted. */
export var MODES = ['ad_storage', 'analytics_storage', 'ad_user_data', 'ad_personalization', 'functionality_storage', 'personalization_storage'];
