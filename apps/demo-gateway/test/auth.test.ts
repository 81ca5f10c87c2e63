/** Every way a request is refused: 401 for who you are, 403 for what you may do. */
import { afterAll, afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { Gateway } from "../src/gateway.ts";
import {
  ADMIN,
  ALICE,
  BOB,
  CAROL,
  call,
  forge,
  removeTempDirs,
  testGateway,
  tokenFor,
  unsecuredToken,
} from "./helpers.ts";

let gw: Gateway;
beforeEach(async () => {
  gw = await testGateway();
});
afterEach(async () => {
  await gw.close();
});
afterAll(removeTempDirs);

async function expect401(token: string | undefined, message: string) {
  const res = await call(gw, "/auth/me", token ? { token } : {});
  expect(res.status).toBe(401);
  expect(res.json.error).toBe(message);
  expect(res.headers.get("www-authenticate")).toStartWith("Bearer");
}

describe("401: the token or the account is not good", () => {
  test("no token, or not a bearer token", async () => {
    await expect401(undefined, "Missing bearer token");
    const basic = await call(gw, "/auth/me", { headers: { authorization: "Basic YTpi" } });
    expect(basic.status).toBe(401);
    expect(basic.json.error).toBe("Missing bearer token");
  });

  test("bad signature", async () => {
    await expect401(
      await forge({ secret: "not-the-gateway-secret-0123456789-0123" }),
      "Token signature is invalid",
    );
  });

  test("alg none", async () => {
    await expect401(unsecuredToken(), "Token algorithm is not allowed");
  });

  test("wrong audience, wrong issuer", async () => {
    await expect401(await forge({ aud: "another-api" }), 'Token claim "aud" is invalid');
    await expect401(await forge({ iss: "another-issuer" }), 'Token claim "iss" is invalid');
  });

  test("expired", async () => {
    await expect401(await forge({ exp: Math.floor(Date.now() / 1000) - 1 }), "Token has expired");
  });

  test("malformed", async () => {
    await expect401("abc.def.ghi", "Token is malformed");
  });

  test("unknown user", async () => {
    await expect401(await forge({ sub: "ghost@example.com" }), "Unknown user");
  });

  test("revoked by an admin, even when its context was cached", async () => {
    const minted = await gw.mintToken(ALICE);
    expect((await call(gw, "/auth/me", { token: minted.token })).status).toBe(200);
    const admin = await tokenFor(gw, ADMIN);
    const revoke = await call(gw, `/admin/tokens/${minted.jti}/revoke`, {
      token: admin,
      method: "POST",
    });
    expect(revoke.status).toBe(200);
    await expect401(minted.token, "Token has been revoked");
  });

  test("logged out", async () => {
    const token = await tokenFor(gw, BOB);
    expect((await call(gw, "/auth/me", { token })).status).toBe(200);
    expect((await call(gw, "/auth/logout", { token, method: "POST" })).status).toBe(200);
    await expect401(token, "Token has been revoked");
    // Logging out one token leaves the user's other tokens working.
    expect((await call(gw, "/auth/me", { token: await tokenFor(gw, BOB) })).status).toBe(200);
  });

  test("deactivated user, then reactivated", async () => {
    const token = await tokenFor(gw, CAROL);
    expect((await call(gw, "/auth/me", { token })).status).toBe(200);
    const admin = await tokenFor(gw, ADMIN);
    const off = await call(gw, `/admin/users/${CAROL}/deactivate`, {
      token: admin,
      method: "POST",
    });
    expect(off.json).toEqual({ email: CAROL, isActive: false });
    await expect401(token, "Account disabled");
    await call(gw, `/admin/users/${CAROL}/activate`, { token: admin, method: "POST" });
    expect((await call(gw, "/auth/me", { token })).status).toBe(200);
  });

  test("a revocation written straight into the database, once the poll has run", async () => {
    const minted = await gw.mintToken(ALICE);
    expect((await call(gw, "/auth/me", { token: minted.token })).status).toBe(200);
    await gw.database.client.execute({
      sql: "INSERT INTO token_revocations (jti, revoked_at, reason) VALUES (?, ?, 'other service')",
      args: [minted.jti, Date.now()],
    });
    expect(await gw.revocations.poll()).toBe(1);
    await expect401(minted.token, "Token has been revoked");
  });
});

describe("403: authenticated, not allowed", () => {
  test("non-admin on admin routes", async () => {
    const token = await tokenFor(gw, ALICE);
    for (const [path, body] of [
      ["/admin/tokens", { email: ALICE }],
      ["/admin/tokens/some-jti/revoke", {}],
      [`/admin/users/${BOB}/deactivate`, {}],
      [`/admin/users/${BOB}/activate`, {}],
    ] as const) {
      const res = await call(gw, path, { token, body });
      expect(res.status).toBe(403);
      expect(res.json.error).toBe("Admin role required");
    }
  });

  test("non-member asking for a team role", async () => {
    const res = await call(gw, "/teams/team-platform/role", { token: await tokenFor(gw, BOB) });
    expect(res.status).toBe(403);
    expect(res.json.error).toBe("Not a member of team team-platform");
  });

  test("a plain member or a non-member managing members", async () => {
    const member = await tokenFor(gw, BOB); // member, not owner, of team-research
    const outsider = await tokenFor(gw, CAROL);
    for (const token of [member, outsider]) {
      const add = await call(gw, "/teams/team-research/members", {
        token,
        body: { email: CAROL, role: "member" },
      });
      expect(add.status).toBe(403);
      const change = await call(gw, `/teams/team-research/members/${BOB}`, {
        token,
        method: "PATCH",
        body: { role: "owner" },
      });
      expect(change.status).toBe(403);
      const remove = await call(gw, `/teams/team-research/members/${BOB}`, {
        token,
        method: "DELETE",
      });
      expect(remove.status).toBe(403);
    }
  });

  test("a team-scoped token after its user left the team", async () => {
    const scoped = await tokenFor(gw, BOB, ["team-research"]);
    expect((await call(gw, "/auth/me", { token: scoped })).status).toBe(200);
    const owner = await tokenFor(gw, ALICE);
    const removed = await call(gw, `/teams/team-research/members/${BOB}`, {
      token: owner,
      method: "DELETE",
    });
    expect(removed.status).toBe(200);
    const res = await call(gw, "/auth/me", { token: scoped });
    expect(res.status).toBe(403);
    expect(res.json.error).toBe("Token is scoped to a team the user no longer belongs to");
  });

  test("a team-scoped token asking about another team", async () => {
    const scoped = await tokenFor(gw, ALICE, ["team-research"]);
    const res = await call(gw, "/teams/team-platform/role", { token: scoped });
    expect(res.status).toBe(403);
    expect(res.json.error).toBe("Token is not scoped to team team-platform");
  });
});

describe("fail closed", () => {
  test("a database failure during authentication is a 503, never a pass", async () => {
    const token = await tokenFor(gw, ALICE);
    gw.database.close();
    const res = await call(gw, "/auth/me", { token });
    expect(res.status).toBe(503);
    expect(res.json.error).toBe("Authentication is temporarily unavailable");
  });
});
