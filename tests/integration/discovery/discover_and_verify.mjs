// node discover_and_verify.mjs ISSUER TOKEN AUDIENCE
//
// What a relying party outside signet does with nothing but the issuer URL: OpenID Connect
// discovery with openid-client (which checks that the document names this issuer), then the token
// verified by jose against the JWK Set at the jwks_uri the document gives, with the issuer and
// audience required and only the advertised algorithms accepted. Prints the verified subject and
// algorithm as JSON; exits 1 with the error otherwise.
import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [issuer, token, audience] = process.argv.slice(2);
try {
  // Loopback over plain HTTP in the test; a deployment serves https.
  const config = await client.discovery(new URL(issuer), 'signet-discovery-test', undefined,
                                        undefined, { execute: [client.allowInsecureRequests] });
  const metadata = config.serverMetadata();
  const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer,
    audience,
    algorithms: metadata.id_token_signing_alg_values_supported,
  });
  console.log(JSON.stringify({ sub: payload.sub, alg: protectedHeader.alg,
                               jwks_uri: metadata.jwks_uri }));
} catch (e) {
  console.log(`discovery client refused: ${e.code ?? ''} ${e.message}`);
  process.exit(1);
}
