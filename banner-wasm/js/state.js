// The loader's state on this page, shared by its modules. Each variable is set here only, through
// the functions below: an ES module's importers read its bindings but cannot assign them.

/** The projection as `readProjection` gives it, and its texts by position (constants.js `T_*`). */
export var P, T;
/** The choice in force, as the engine gives it ({categories, services}), or null. */
export var state = null;
/** The engine has started: decisions can be recorded. */
export var ready = 0;
/** The base of the site's API (`…/api/v1/sites/<site>`). */
export var api;

export function setProjection(projection) {
  P = projection;
  T = projection.t;
}
export function setState(choice) {
  state = choice;
}
export function setReady() {
  ready = 1;
}
export function setApi(base) {
  api = base;
}
