// Verifies signet's HS256 benchmark token with fast-jwt (cache off) on one thread for a given time
// and prints the rate: "fast-jwt verify/HS256: <n> per second (<ns> ns each, <bytes> bytes)".
//
// Usage: node fast_jwt_verify.mjs FIXTURE.json SECONDS
// FIXTURE.json is written by codec_bench (SIGNET_BENCH_HS256_FIXTURE): token, secret_b64url,
// issuer, audience, now_ms. The verifier checks what signet's does: signature, times, issuer,
// audience.
import { readFileSync } from 'node:fs';
import { createVerifier } from 'fast-jwt';

const [fixturePath, secondsArg] = process.argv.slice(2);
const fixture = JSON.parse(readFileSync(fixturePath, 'utf8'));
const seconds = Number(secondsArg ?? '3');
const verify = createVerifier({
  key: Buffer.from(fixture.secret_b64url, 'base64url'),
  algorithms: ['HS256'],
  allowedIss: fixture.issuer,
  allowedAud: fixture.audience,
  clockTimestamp: fixture.now_ms,
  cache: false,
});

const claims = verify(fixture.token);  // throws if the token does not verify
if (claims.iss !== fixture.issuer) throw new Error('unexpected issuer');

function run(budgetNs) {
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < budgetNs) {
    for (let i = 0; i < 1000; ++i) verify(fixture.token);
    n += 1000;
    elapsed = process.hrtime.bigint() - start;
  }
  return Number(elapsed) / n;
}

run(BigInt(Math.round(0.5e9)));  // warm-up: let the JIT settle
let best = Infinity;
for (let round = 0; round < 3; ++round) best = Math.min(best, run(BigInt(Math.round(seconds / 3 * 1e9))));
console.log(`fast-jwt verify/HS256: ${Math.round(1e9 / best)} per second (${best.toFixed(0)} ns each, ${fixture.token.length} bytes)`);
