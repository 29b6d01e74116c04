// The banner's drawing: the first layer, the panel, the manage button, focus and the keyboard.
// Every text is set as text, never parsed as HTML.

import { T_ACCEPT, T_ALWAYS, T_BODY, T_BY_SERVICE, T_CLOSE, T_CLOSE_LABEL, T_COOKIES, T_CUSTOMIZE, T_ESCAPE, T_MANAGE, T_NO_SERVICE, T_POLICY, T_PRIVACY, T_REJECT, T_SAVE, T_TITLE } from './constants.js';
import { D } from './host.js';
import { categoryAllowed, serviceAllowed } from './choice.js';
import { act } from './api.js';
import { P, T } from './state.js';

var root, manage, sheet, opener;

export function all(selector, within) {
  return [].slice.call((within || D).querySelectorAll(selector));
}
export function el(parent, tag, attributes, text) {
  var element = D.createElement(tag);
  for (var name in attributes) element.setAttribute(name, attributes[name]);
  if (text) element.textContent = text;
  if (parent) parent.appendChild(element);
  return element;
}
/** The styles as a constructed sheet: a page's CSP `style-src` governs `<style>` elements but
 * not constructed sheets. A browser without them (Safari before 16.4) gets a `<style>` element. */
export function style(shadow) {
  var css = __BISCOTTE_CSS__;
  try {
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
    }
    shadow.adoptedStyleSheets = [sheet];
  } catch (e) {
    el(shadow, 'style', 0, css);
  }
}
export function shown() {
  return root && root.querySelector('[role=dialog]');
}
// A fresh dialog with its header (title and close control), replacing any shown. The first
// layer is non-modal (the page stays usable: no keyboard cookie wall); the panel is modal.
function dialog(layer, modal) {
  var old = shown();
  if (old) old.remove();
  var d = el(0, 'div', { 'class': 'card', role: 'dialog', 'aria-labelledby': 'biscotte-title', tabindex: '-1', 'data-biscotte-layer': layer, lang: P.lang });
  if (modal) d.setAttribute('aria-modal', 'true');
  var head = el(d, 'div', { 'class': 'head' });
  el(head, 'h2', { id: 'biscotte-title', 'class': 'title' }, T[T_TITLE]);
  el(head, 'button', { type: 'button', 'class': 'close', 'data-action': 'close', 'aria-label': T[T_CLOSE_LABEL] }, T[T_CLOSE]);
  return d;
}
// The row of equal buttons: same element, class and parent for each (LEGAL R10, R11).
function choices(d, actions, texts) {
  var row = el(d, 'div', { 'class': 'choices' });
  actions.forEach(function (action, i) {
    el(row, 'button', { type: 'button', 'class': 'choice', 'data-action': action }, T[texts[i]]);
  });
}
function present(d, focus) {
  root.appendChild(d);
  manage.hidden = true;
  // Focus is a courtesy: a refusal by the browser changes nothing.
  if (focus) d.focus();
}
/** The first layer: title, text, policy link, the three equal choices, the close control, and
 * what Escape does. `focus` moves the keyboard focus into it, for openings the visitor asked for. */
export function first(focus) {
  var d = dialog('first');
  d.setAttribute('aria-describedby', 'biscotte-body');
  el(d, 'p', { id: 'biscotte-body', 'class': 'body' }, T[T_BODY]);
  if (P.policy) el(el(d, 'p', { 'class': 'links' }), 'a', { 'class': 'policy', href: P.policy }, T[T_POLICY]);
  choices(d, ['accept_all', 'reject_all', 'customize'], [T_ACCEPT, T_REJECT, T_CUSTOMIZE]);
  el(d, 'p', { 'class': 'hint' }, T[T_ESCAPE]);
  present(d, focus);
}
function toggle(parent, attribute, id, on, required) {
  var box = el(parent, 'input', { type: 'checkbox', role: 'switch' });
  box.setAttribute(attribute, id);
  box.checked = on;
  box.disabled = required;
  return box;
}
/** The panel: each category with its purpose and switch, each of its services with provider,
 * policy link, switch and cookies; then save, accept all, refuse all. Nothing is on that the
 * choice in force did not say yes to (LEGAL R07). */
export function second() {
  var d = dialog('second', 1), list = el(d, 'ul', { 'class': 'categories' });
  P.cats.forEach(function (c) {
    var item = el(list, 'li', { 'class': 'category' }), label = el(item, 'label', { 'class': 'switch' });
    toggle(label, 'data-category', c.id, categoryAllowed(c.id), c.req);
    var name = el(label, 'span', { 'class': 'name' }, c.title);
    if (c.req) el(name, 'span', { 'class': 'always' }, T[T_ALWAYS]);
    el(label, 'span', { 'class': 'desc' }, c.desc);
    var services = P.svcs.filter(function (s) { return s.cat == c.id; });
    // Technical cookies need no declared service (the site's session, this choice).
    if (!services.length && !c.req) el(item, 'p', { 'class': 'none' }, T[T_NO_SERVICE]);
    var lines = services.length && el(item, 'ul', { 'class': 'services' });
    services.forEach(function (s) {
      var line = el(lines, 'li'), label = el(line, 'label', { 'class': 'switch' });
      toggle(label, 'data-service', s.id, serviceAllowed(s), c.req).setAttribute('data-in', c.id);
      el(label, 'span', { 'class': 'service' }, s.name);
      el(label, 'span', { 'class': 'desc' }, s.provider);
      if (s.url) el(line, 'a', { href: s.url, target: '_blank', rel: 'noopener noreferrer', 'aria-label': T[T_PRIVACY] + ' : ' + s.name }, T[T_PRIVACY]);
      var cookies = s.cookies.length && el(line, 'ul', { 'class': 'cookies', 'aria-label': T[T_COOKIES] + ' ' + s.name });
      s.cookies.forEach(function (k) {
        el(cookies, 'li', 0, k.name + ' · ' + k.lifetime + ' · ' + k.purpose + (k.hidden ? ' · ' + T[T_BY_SERVICE] : ''));
      });
    });
  });
  choices(d, ['save', 'accept_all', 'reject_all'], [T_SAVE, T_ACCEPT, T_REJECT]);
  present(d, 1);
}
/** Removes the dialog and shows the manage button; the focus goes back where it was before the
 * panel opened, else to the manage button when it was on the banner. */
export function close() {
  var d = shown(), had = root.activeElement;
  if (d) d.remove();
  placeManage();
  if (opener && opener.isConnected && opener.getRootNode() != root) opener.focus();
  else if (had) manage.focus();
  opener = 0;
}
/** `Biscotte.open()`: the first layer again, the focus to come back where it is now. */
export function reopen() {
  opener = D.activeElement;
  act('manage');
}
/** The manage button shows whenever no dialog does, except that "off" hides it on pages that
 * carry their own `data-biscotte-open` element (which may be parsed after the banner started). */
export function placeManage() {
  manage.hidden = !!shown() || (P.manage == 'off' && !!D.querySelector('[data-biscotte-open]'));
}
export function checked(attribute, id) {
  var box = root.querySelector('[' + attribute + '="' + id + '"]');
  return !!box && box.checked;
}
/** The host element, first in the body so that the banner comes first in the keyboard order,
 * with an open shadow root (tests and assistive tools reach into it). */
export function mount() {
  var host = el(0, 'div', { id: 'biscotte', lang: P.lang });
  root = host.attachShadow({ mode: 'open' });
  style(root);
  D.body.prepend(host);
  manage = el(root, 'button', { type: 'button', 'class': 'manage ' + (P.manage == 'right' ? 'right' : 'left'), 'data-action': 'manage', hidden: '' }, T[T_MANAGE]);
  // One listener for every control of the banner, read from `data-action`.
  root.addEventListener('click', function (event) {
    var control = event.target.closest('[data-action]');
    if (control) {
      if (control == manage) opener = control;
      act(control.getAttribute('data-action'));
    }
  });
  // A category's switch sets its services; a service's switch leaves its category on only
  // when all its services are (mixed shows as such).
  root.addEventListener('change', function (event) {
    var box = event.target, id = box.getAttribute('data-category') || box.getAttribute('data-in');
    var services = all('[data-in="' + id + '"]', root), on = services.filter(function (s) { return s.checked; }).length;
    if (box.hasAttribute('data-category')) {
      services.forEach(function (s) { s.checked = box.checked; });
    } else {
      box = root.querySelector('[data-category="' + id + '"]');
      box.checked = on == services.length;
      box.indeterminate = on > 0 && on < services.length;
    }
  });
  D.addEventListener('keydown', function (event) {
    var d = shown();
    if (!d) return;
    // Escape closes the banner, which is a refusal (the first layer says so).
    if (event.key == 'Escape') return act('close');
    // The panel keeps the focus inside while it is open.
    if (event.key == 'Tab' && d.getAttribute('aria-modal')) {
      var stops = all('button,a[href],input:not(:disabled)', d), at = stops.indexOf(root.activeElement);
      var to = event.shiftKey ? (at <= 0 ? stops.length - 1 : -1) : (at < 0 || at == stops.length - 1 ? 0 : -1);
      if (to >= 0) {
        event.preventDefault();
        stops[to].focus();
      }
    }
  });
  // Any element of the page marked `data-biscotte-open` reopens the choices.
  D.addEventListener('click', function (event) {
    if (event.target.closest && event.target.closest('[data-biscotte-open]')) {
      event.preventDefault();
      reopen();
    }
  });
}
