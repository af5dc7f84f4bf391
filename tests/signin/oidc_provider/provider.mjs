// A real OpenID provider for the sign-in tests (panva/node-oidc-provider, its development
// sign-in and consent pages). Started by tests/signin/oidc.py:
//   node provider.mjs <port> <accounts.json> <client.json>
// accounts.json maps a login name to the claims the provider releases; it is read again on
// every sign-in, so a test can change a user's groups between two sign-ins.
import { readFileSync } from "node:fs";
import Provider from "oidc-provider";

const [port, accountsPath, clientPath] = process.argv.slice(2);
const client = JSON.parse(readFileSync(clientPath, "utf8"));

function account(id) {
  const accounts = JSON.parse(readFileSync(accountsPath, "utf8"));
  return accounts[id];
}

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: client.client_id,
      client_secret: client.client_secret,
      redirect_uris: client.redirect_uris,
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
      id_token_signed_response_alg: "RS256",
    },
  ],
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "given_name", "family_name", "preferred_username"],
    groups: ["groups"],
  },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ["jitportal-test-provider-cookie-key"] },
  async findAccount(ctx, id) {
    if (account(id) === undefined) return undefined;
    return {
      accountId: id,
      async claims() {
        // Read at the time of the claims request: a test may have changed them since.
        const claims = account(id) ?? {};
        return { sub: id, ...claims };
      },
    };
  },
});
provider.proxy = false;

const server = provider.listen(Number(port), "127.0.0.1", () => {
  process.stdout.write(`listening ${port}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
