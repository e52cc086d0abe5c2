// The action's post step: in detached mode, wait for the background agent (a person may
// be logged in, or may still come: `agent --wait` restarts its timeout), or stop it at once
// when the job passed and wait-on-success is false.
'use strict';
const { input, flag, runAgent } = require('./lib.js');

const dir = process.env.STATE_converge_dir;
if (!dir) process.exit(0);  // not detached, or the agent never started
const passed = input('job-status', 'success') === 'success';
const wait = !passed || flag('wait-on-success', false);
console.log(wait ? `converge: the job ${passed ? 'passed' : 'did not pass'}: waiting for the agent (agent --wait)`
                 : 'converge: the job passed: stopping the agent (agent --stop)');
process.exit(runAgent(dir, [wait ? '--wait' : '--stop']));
