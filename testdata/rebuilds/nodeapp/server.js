// A tiny service: answers every request with an escaped greeting and how long
// it has been up. With --selftest it prints one answer and exits.
'use strict';
const http = require('http');
const escape = require('escape-html');
const isNumber = require('is-number');
const kleur = require('kleur');
const ms = require('ms');

const started = Date.now();

function answer(name) {
  const up = ms(Date.now() - started + ms('1s'));
  return `<p>hello, ${escape(name)}; up ${up}; port is number: ${isNumber(port())}</p>\n`;
}

function port() {
  return process.env.PORT || '8080';
}

if (process.argv.includes('--selftest')) {
  process.stdout.write(kleur.green('selftest: ') + answer('<world>'));
} else {
  http.createServer((req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(answer(req.url.slice(1) || 'world'));
  }).listen(Number(port()));
}
