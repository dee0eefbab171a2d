// A real OpenID Connect provider for the login tests: npm oidc-provider 9 (installed globally by
// .ci/run: npm install -g oidc-provider@9.13.3), one confidential client, devInteractions (its own
// login form: any name, any password; the account id is the name typed). Claims: sub = the name,
// email = name@example.test (verified), groups = ["vault-users"] for names starting with "group-".
// Usage: node provider.mjs MODULE_ENTRY PORT REDIRECT_URI   (prints "ready ISSUER" when listening)
import { pathToFileURL } from 'node:url';

const [entry, port, redirectUri] = process.argv.slice(2);
const { default: Provider } = await import(pathToFileURL(entry).href);
const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [{
    client_id: 'mtlsgate',
    client_secret: 'test-secret',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['groups'] },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({
      sub: id,
      email: `${id}@example.test`,
      email_verified: true,
      groups: id.startsWith('group-') ? ['vault-users'] : ['others'],
    }),
  }),
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
});
provider.listen(Number(port), '127.0.0.1', () => console.log(`ready ${issuer}`));
