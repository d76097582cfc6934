'use strict';
// The real-manager end-to-end checks. Run by run.sh inside the namespace that
// with-manager.sh prepares (a real `systemd --user`, journald, loopback only).
const h = require('./harness');

if (!h.inManager()) {
  console.error('suite.js must run next to a real manager: bash test/e2e/run.sh');
  process.exit(2);
}

const runner = new h.Runner();

runner.group('manager', async (t) => {
  await t.check('systemd --user is running and answers systemctl', async () => {
    const out = (await h.run('systemctl', ['--user', 'is-system-running'], { allowFail: true })).stdout.trim();
    if (!['running', 'degraded'].includes(out)) throw new Error(`is-system-running: ${out}`);
    return out;
  });
});

runner.runAll().then((code) => process.exit(code), (e) => { console.log(`not ok - suite crashed: ${e.stack}`); process.exit(1); });
