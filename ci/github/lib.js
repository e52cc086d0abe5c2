// What main.js and post.js share: inputs, the runner's files, fetching over HTTP(S).
// Only Node's own modules: the action runs on the runner's Node with nothing installed.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');
const { spawnSync } = require('child_process');

// An input as the runner passes it: INPUT_<NAME> (upper case, spaces as underscores).
function input(name, fallback = '') {
  const value = process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`];
  return value === undefined || value.trim() === '' ? fallback : value.trim();
}

function flag(name, fallback) {
  const value = input(name, fallback ? 'true' : 'false').toLowerCase();
  if (value !== 'true' && value !== 'false') fail(`input ${name}: use true or false, not '${value}'`);
  return value === 'true';
}

// Ends the step with one error annotation.
function fail(message) {
  console.log(`::error::converge: ${message}`);
  process.exit(1);
}

// The server's URLs: the agent dials ws(s)://, downloads come from http(s)://.
function serverURLs(server) {
  const match = /^(wss?|https?):\/\/([^/\s]+)(\/[^\s]*)?$/.exec(server);
  if (!match) fail(`input server: expected wss://host[:port], not '${server}'`);
  const secure = match[1] === 'wss' || match[1] === 'https';
  const rest = match[2] + (match[3] || '').replace(/\/+$/, '');
  return { ws: `${secure ? 'wss' : 'ws'}://${rest}`, http: `${secure ? 'https' : 'http'}://${rest}` };
}

// GET url into a Buffer (redirects followed); rejects on any status but 200.
function fetch(url, ca, redirects = 5) {
  return new Promise((resolve, reject) => {
    const client = url.startsWith('https:') ? https : http;
    const request = client.get(url, ca ? { ca } : {}, (response) => {
      if ([301, 302, 303, 307, 308].includes(response.statusCode) && response.headers.location && redirects > 0) {
        response.resume();
        resolve(fetch(new URL(response.headers.location, url).toString(), ca, redirects - 1));
        return;
      }
      if (response.statusCode !== 200) {
        response.resume();
        reject(new Error(`${url}: HTTP ${response.statusCode}`));
        return;
      }
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolve(Buffer.concat(chunks)));
    });
    request.setTimeout(60000, () => request.destroy(new Error(`${url}: timed out`)));
    request.on('error', reject);
  });
}

// Runs the agent in dir with the step's output; returns its exit status.
function runAgent(dir, args) {
  const result = spawnSync(path.join(dir, 'agent'), args, { cwd: dir, stdio: 'inherit' });
  if (result.error) fail(`cannot run the agent: ${result.error.message}`);
  return result.status === null ? 1 : result.status;
}

module.exports = { input, flag, fail, serverURLs, fetch, runAgent, fs, path };
