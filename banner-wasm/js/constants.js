// What the loader shares with Rust, written by shared/tests/js_constants.rs from shared's
// constants: do not edit it by hand. After a change there, write it again with
//   BISCOTTE_WRITE=1 cargo test -p biscotte-shared --test js_constants
// (the test fails while this file is not what the Rust gives).

/** The projection's format name, its record and field separators, the separator of a list
 * field's items (shared/src/projection.rs, whose doc specifies the format). */
export var FORMAT = 'biscotte-banner-3', RS = '\x1e', FS = '\x1f', LIST = ' ';
/** Record 0, the head, by position. */
export var H_FORMAT = 0, H_SITE = 1, H_REVISION = 2, H_POLICY_VERSION = 3, H_LANG = 4, H_POLICY_URL = 5, H_MANAGE_BUTTON = 6;
/** The texts (record 1), by position: 18 of them. */
export var T_TITLE = 0, T_BODY = 1, T_ACCEPT = 2, T_REJECT = 3, T_CUSTOMIZE = 4, T_SAVE = 5, T_CLOSE = 6, T_CLOSE_LABEL = 7, T_MANAGE = 8, T_POLICY = 9, T_ALWAYS = 10, T_PRIVACY = 11, T_COOKIES = 12, T_NO_SERVICE = 13, T_BY_SERVICE = 14, T_EMBED = 15, T_ALLOW = 16, T_ESCAPE = 17;
/** The records after the texts: a category's or a service's, told by the field at KIND. */
export var KIND = 0;
/** A category's record, by position; a flag is true when its field is not empty. */
export var C_TAG = 'c', C_ID = 1, C_REQUIRED = 2, C_TITLE = 3, C_DESCRIPTION = 4, C_FIELDS = 5;
/** A service's record, by position: S_FIELDS fields, then K_FIELDS per declared cookie (K_*,
 * counted from the cookie's first). */
export var S_TAG = 's', S_ID = 1, S_CATEGORY = 2, S_NAME = 3, S_PROVIDER = 4, S_POLICY_URL = 5, S_CONSENT_MODE = 6, S_STORAGE = 7, S_FIELDS = 8;
export var K_NAME = 0, K_LIFETIME = 1, K_PURPOSE = 2, K_HIDDEN = 3, K_FIELDS = 4;
/** The consent cookie's name (shared/src/cookie.rs). */
export var COOKIE_NAME = 'biscotte';
/** Milliseconds in a day; a choice holds 182 days; no managed cookie lives past 395 days (13
 * months) (shared/src/rules.rs). */
export var DAY_MS = 86400000, CHOICE_DAYS = 182, COOKIE_MAX_DAYS = 395;
/** Google Consent Mode v2's types a service may declare; `security_storage` is always granted
 * (shared/src/config.rs). */
export var MODES = ['ad_storage', 'analytics_storage', 'ad_user_data', 'ad_personalization', 'functionality_storage', 'personalization_storage'];
/** The decision methods, as the protocol names them (shared/src/decision.rs). */
export var METHODS = ['accept_all', 'reject_all', 'custom', 'close', 'gpc', 'embed'];
