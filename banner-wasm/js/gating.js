// Gating: the scripts and embeds the choice allows start, in document order; the others wait,
// embeds behind a placeholder that can allow their service alone.

import { T_ALLOW, T_EMBED } from './constants.js';
import { D } from './host.js';
import { categoryAllowed, service, serviceAllowed } from './choice.js';
import { all, el, style } from './dialogs.js';
import { decide } from './api.js';
import { P, T } from './state.js';

var held = [];
/** Runs the gated scripts the choice allows and fills the allowed embeds (placeholders for the
 * others): at the start, after each decision and for content added later. */
export function gate() {
  all("script[type='text/plain'][data-biscotte-category]:not([data-biscotte-ran]),script[type='text/plain'][data-biscotte-service]:not([data-biscotte-ran])").forEach(function (script) {
    var id = script.getAttribute('data-biscotte-service');
    if (id ? serviceAllowed(service(id)) : categoryAllowed(script.getAttribute('data-biscotte-category'))) revive(script);
  });
  all('[data-biscotte-service][data-src]').concat(held).forEach(embed);
}
// A fresh script element (scripts created by the DOM execute, parsed ones turned live do not)
// with the original's attributes but `type`, placed after it; the original is marked first, so
// that even a script that throws never runs twice.
function revive(original) {
  original.setAttribute('data-biscotte-ran', '');
  var script = D.createElement('script');
  original.getAttributeNames().forEach(function (name) {
    if (name != 'type' && name != 'data-biscotte-ran') script.setAttribute(name, original.getAttribute(name));
  });
  // Inserted scripts are async by default; keeping them in order keeps dependencies working.
  if (!original.hasAttribute('async')) script.async = false;
  if (!original.src) script.text = original.text;
  original.after(script);
}
// An embed (`data-src`) loads only once its service is allowed. Until then a placeholder of
// its size takes its place (so nothing on the page moves), names the service and can allow it
// alone; the embed waits off the page, which also unloads it when its service is withdrawn.
function embed(element) {
  var s = service(element.getAttribute('data-biscotte-service')), holder = element.biscotte;
  if (serviceAllowed(s)) {
    if (holder) {
      holder.replaceWith(element);
      held.splice(held.indexOf(element), 1);
      element.biscotte = 0;
    }
    if (element.getAttribute('src') != element.getAttribute('data-src')) element.src = element.getAttribute('data-src');
  } else if (s && !holder) {
    var box = element.getBoundingClientRect();
    holder = element.biscotte = el(0, 'div', { lang: P.lang, 'data-biscotte-embed': s.id });
    holder.style.cssText = 'display:inline-block;vertical-align:top;width:' + (box.width || 300) + 'px;height:' + (box.height || 150) + 'px';
    var inner = holder.attachShadow({ mode: 'open' });
    style(inner);
    var panel = el(inner, 'div', { 'class': 'embed', role: 'region', 'aria-label': s.name });
    el(panel, 'p', { 'class': 'name' }, s.name + ' — ' + s.provider);
    el(panel, 'p', 0, T[T_EMBED]);
    el(panel, 'button', { type: 'button', 'class': 'choice' }, T[T_ALLOW] + ' ' + s.name).onclick = function () {
      decide('embed', function (id, isService) { return isService ? id == s.id || serviceAllowed(service(id)) : categoryAllowed(id); });
    };
    element.replaceWith(holder);
    held.push(element);
  }
}
