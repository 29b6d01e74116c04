// What the choice in force allows, by id (shared's `Choices::allows_*`): `necessary` always;
// anything else only with its own yes. Unknown ids never run.

import { P, state } from './state.js';

export function service(id) {
  return P.svcs.filter(function (s) { return s.id == id; })[0];
}
export function category(id) {
  return P.cats.filter(function (c) { return c.id == id; })[0];
}
export function categoryAllowed(id) {
  var c = category(id);
  return !!c && (c.req || !!(state && state.categories[id]));
}
export function serviceAllowed(s) {
  var c = s && category(s.cat);
  return !!c && (c.req || !!(state && state.services[s.id]));
}
