// The catalogue's single-page navigation: each aisle is drawn by script, without a page load, and
// the page adds Hotjar and a product video once it has loaded, as single-page apps do. Both are
// added in their gated form: Biscotte must keep them off until the visitor consents.
(function () {
  'use strict';
  var THIRD_PARTY = 'THIRD_PARTY_ORIGIN';
  var aisles = {
    huiles: { title: 'Huiles et vinaigres', items: ["Huile d'olive de Nyons AOP", 'Vinaigre de Banyuls, 5 ans', 'Huile de noix du Périgord'] },
    epices: { title: 'Épices et condiments', items: ["Piment d'Espelette AOP", 'Fleur de sel de Guérande', 'Moutarde au cassis de Dijon'] },
    douceurs: { title: 'Douceurs', items: ['Calissons d\u2019Aix', 'Miel de lavande de Provence', 'Nougat noir de Montélimar'] },
  };

  function show(id) {
    var aisle = aisles[id] || aisles.huiles;
    var section = document.getElementById('aisle');
    var title = document.createElement('h2');
    title.textContent = aisle.title;
    var list = document.createElement('ul');
    list.className = 'products';
    aisle.items.forEach(function (name) {
      var item = document.createElement('li');
      item.textContent = name;
      list.appendChild(item);
    });
    section.replaceChildren(title, list);
    document.querySelectorAll('[data-aisle]').forEach(function (link) {
      if (link.getAttribute('data-aisle') === id) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    });
    document.title = aisle.title + ' — Épicerie fine Lavande';
  }

  function current() {
    return new URLSearchParams(location.search).get('rayon') || 'huiles';
  }

  document.addEventListener('click', function (event) {
    var link = event.target.closest && event.target.closest('[data-aisle]');
    if (!link) return;
    event.preventDefault();
    history.pushState(null, '', link.getAttribute('href'));
    show(link.getAttribute('data-aisle'));
  });
  window.addEventListener('popstate', function () { show(current()); });
  show(current());

  // Added after the load, not in the HTML: the gate must catch what arrives late.
  window.addEventListener('load', function () {
    var hotjar = document.createElement('script');
    hotjar.type = 'text/plain';
    hotjar.setAttribute('data-biscotte-service', 'hotjar');
    hotjar.setAttribute('src', THIRD_PARTY + '/hotjar.js?sv=6&hjid=42');
    document.body.appendChild(hotjar);

    var video = document.createElement('iframe');
    video.setAttribute('data-biscotte-service', 'youtube');
    video.setAttribute('data-src', THIRD_PARTY + '/embed/video.html?v=huile-nyons');
    video.setAttribute('title', "Vidéo : la récolte des olives à Nyons (YouTube)");
    video.width = 560;
    video.height = 315;
    document.getElementById('video-slot').appendChild(video);
    document.documentElement.setAttribute('data-shop-late-content', 'added');
  });
})();
