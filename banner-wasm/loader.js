/*! Biscotte loader: fetches the site's consent configuration and the banner engine, then starts it.
 * Served as /biscotte.js; the server replaces the two __BISCOTTE_…__ placeholders with the
 * content-hashed paths of the current engine files. Any failure leaves the page as if everything
 * was refused: the gated scripts stay inert. */
(function () {
  'use strict';
  // Only readable synchronously, while this script runs for the first time.
  var tag = document.currentScript;
  function warn(message) {
    console.warn('Biscotte: ' + message + '. No consent banner is shown and no optional script runs.');
  }
  if (!tag || !tag.src) {
    return warn('biscotte.js must be included with <script src="…/biscotte.js" data-site="…">');
  }
  var origin = new URL(tag.src, location.href).origin;
  var site = tag.getAttribute('data-site');
  if (!site) {
    return warn('the script tag has no data-site attribute; copy the tag from the Biscotte admin');
  }
  var configUrl = origin + '/api/v1/sites/' + encodeURIComponent(site) + '/config';

  var config = fetch(configUrl, { credentials: 'omit' }).then(
    function (response) {
      if (response.status === 404) {
        throw new Error('unknown site id "' + site + '" on ' + origin + ' (check data-site, and that the site is published)');
      }
      if (!response.ok) {
        throw new Error(configUrl + ' answered HTTP ' + response.status);
      }
      return response.json().catch(function () {
        throw new Error(configUrl + ' answered something that is not JSON');
      });
    },
    function () {
      throw new Error('the Biscotte server ' + origin + ' is unreachable (or refuses this origin)');
    }
  );
  var engine = import(origin + '__BISCOTTE_GLUE__');

  Promise.all([config, engine])
    .then(function (loaded) {
      var glue = loaded[1];
      return glue.default({ module_or_path: origin + '__BISCOTTE_WASM__' }).then(function () {
        glue.start(origin, site, loaded[0]);
      });
    })
    .catch(function (error) {
      warn((error && error.message) || String(error));
    });
})();
