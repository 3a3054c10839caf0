// Service worker of the household visit app, served by xaso.survey.views.service_worker at
// /khao-sat/sw.js with scope /khao-sat/ (the site-wide /sw.js of notifications keeps "/"; the
// more specific scope wins for these pages). It keeps the app shell so that /khao-sat/ opens
// with no network: the page network-first with the cached copy as fallback, static files from
// the cache and refreshed behind. It never touches anything but GET: visits are POSTed by the
// page and queued by the page, never cached here. The view fills in VERSION, SHELL and
// STATIC_URL.
"use strict";

var VERSION = "__VERSION__";
var SHELL = ["__SHELL__"]; // the page first, then its CSS and scripts
var STATIC_URL = "__STATIC_URL__";
var PAGE = SHELL[0];
var CACHE = "xaso-survey-" + VERSION;
var SLOW_NETWORK_MS = 6000; // then the cached page, while the network answer updates the cache

function keepable(response) {
  return response && response.ok && !response.redirected && response.type === "basic";
}

function store(cache, key, response) {
  return keepable(response) ? cache.put(key, response.clone()) : Promise.resolve();
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    // One by one and forgiving: a file that fails now is cached by the first page that uses it.
    return Promise.all(SHELL.map(function (url) {
      return fetch(url, { credentials: "same-origin" }).then(function (response) {
        return store(cache, url, response);
      }).catch(function () { return null; });
    }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("xaso-survey-") === 0 && name !== CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function page(request) {
  return caches.open(CACHE).then(function (cache) {
    var network = fetch(request).then(function (response) {
      return store(cache, PAGE, response).then(function () { return response; });
    });
    var cached = cache.match(PAGE);
    var slow = new Promise(function (resolve) { setTimeout(resolve, SLOW_NETWORK_MS); }).then(function () {
      return cached;
    });
    var fallback = function () {
      return cached.then(function (copy) {
        return copy || new Response("<!doctype html><meta charset=utf-8><title>XãSố</title>" +
          "<p>Mất mạng và máy chưa lưu trang thăm hộ. Hãy mở trang này một lần khi có mạng.</p>",
        { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
      });
    };
    // Whichever comes first: the network's answer, or after a while the cached copy.
    return Promise.race([network.catch(fallback), slow.then(function (copy) { return copy || network.catch(fallback); })]);
  });
}

function asset(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request).then(function (cached) {
      var network = fetch(request).then(function (response) {
        return store(cache, request, response).then(function () { return response; });
      });
      if (cached) { network.catch(function () { return null; }); return cached; }
      return network;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return; // POSTs (visits) go to the network, untouched
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === PAGE) {
    event.respondWith(page(request));
  } else if (SHELL.indexOf(url.pathname) > 0 || url.pathname.indexOf(STATIC_URL) === 0) {
    event.respondWith(asset(request));
  }
  // Everything else (the API, other pages) goes to the network as if there were no worker.
});
