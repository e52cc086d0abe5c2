// The action's main step: download the agent from the server, let in the actor's keys,
// and run it (in the foreground, or detached with `agent --detach` for the post step).
'use strict';
const { input, flag, fail, serverURLs, fetch, runAgent, fs, path } = require('./lib.js');

async function main() {
  const server = input('server');
  if (!server) fail('input server is required (wss://host of your Converge server)');
  const urls = serverURLs(server);
  const temp = process.env.RUNNER_TEMP;
  if (!temp) fail('RUNNER_TEMP is not set: this runs as a GitHub Action');
  const dir = fs.mkdtempSync(path.join(temp, 'converge-'));
  const args = ['--timeout', input('timeout', '10m'), '--hold', input('hold', '30m')];
  const id = input('id');
  if (id) args.push('--id', id);

  let ca;
  const serverCA = input('server-ca');
  if (serverCA) {
    ca = serverCA + '\n';
    fs.writeFileSync(path.join(dir, 'server-ca.pem'), ca);
    args.push('--cacert', path.join(dir, 'server-ca.pem'));
  }

  const agent = path.join(dir, 'agent');
  try {
    fs.writeFileSync(agent, await fetch(`${urls.http}/docs/agent`, ca), { mode: 0o755 });
  } catch (error) {
    fail(`cannot download the agent: ${error.message}`);
  }

  // Keys: the actor's (fetched here, so a missing list stops the step at once) and the input's.
  let keys = input('authorized-keys');
  if (flag('limit-access-to-actor', true)) {
    const actor = process.env.GITHUB_ACTOR;
    const site = (process.env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
    if (!actor) fail('GITHUB_ACTOR is not set, so limit-access-to-actor has nobody to let in');
    let actorKeys;
    try {
      actorKeys = (await fetch(`${site}/${actor}.keys`)).toString('utf8');
    } catch (error) {
      fail(`cannot fetch the keys of ${actor}: ${error.message}`);
    }
    if (!/\S/.test(actorKeys)) fail(`${actor} has no public SSH keys at ${site}/${actor}.keys: add one, or set authorized-keys`);
    keys = `${actorKeys.trim()}\n${keys}`;
  }
  if (!/\S/.test(keys)) fail('nobody could log in: set limit-access-to-actor or authorized-keys');
  fs.writeFileSync(path.join(dir, 'authorized_keys'), keys.trim() + '\n', { mode: 0o600 });
  args.push('--authorized-keys', path.join(dir, 'authorized_keys'));

  const detached = flag('detached', false);
  if (detached) args.push('--detach');
  args.push(urls.ws);
  const status = runAgent(dir, args);
  if (detached && status === 0 && process.env.GITHUB_STATE) {
    // For the post step: where the background agent runs.
    fs.appendFileSync(process.env.GITHUB_STATE, `converge_dir=${dir}\n`);
  }
  process.exit(status);
}

main().catch((error) => fail(error.message));
