import { describe, expect, test } from "bun:test";
import { createJwtService, TokenError } from "../src/jwt.ts";
import { ALICE, AUDIENCE, forge, ISSUER, SECRET, unsecuredToken } from "./helpers.ts";

const jwt = createJwtService({
  secret: SECRET,
  issuer: ISSUER,
  audience: AUDIENCE,
  ttlSeconds: 60,
});

async function reason(token: string): Promise<string> {
  try {
    await jwt.verify(token);
  } catch (error) {
    expect(error).toBeInstanceOf(TokenError);
    return (error as Error).message;
  }
  throw new Error("expected the token to be refused");
}

describe("jwt", () => {
  test("mint then verify round-trips subject, jti, expiry and scope", async () => {
    const minted = await jwt.mint(ALICE, { teams: ["team-research"] });
    const claims = await jwt.verify(minted.token);
    expect(claims).toEqual({
      email: ALICE,
      jti: minted.jti,
      expiresAt: minted.expiresAt,
      teams: ["team-research"],
    });
    const header = JSON.parse(
      Buffer.from(minted.token.split(".")[0] ?? "", "base64url").toString(),
    );
    expect(header.alg).toBe("HS256");
  });

  test("refuses alg none, a bad signature, wrong audience or issuer, expiry", async () => {
    expect(await reason(unsecuredToken())).toBe("Token algorithm is not allowed");
    expect(await reason(await forge({ secret: "another-secret-0123456789-0123456789" }))).toBe(
      "Token signature is invalid",
    );
    expect(await reason(await forge({ aud: "someone-else" }))).toBe('Token claim "aud" is invalid');
    expect(await reason(await forge({ iss: "someone-else" }))).toBe('Token claim "iss" is invalid');
    expect(await reason(await forge({ exp: Math.floor(Date.now() / 1000) - 5 }))).toBe(
      "Token has expired",
    );
    expect(await reason("not-a-jwt")).toBe("Token is malformed");
  });

  test("an expiry is checked against the service clock", async () => {
    let now = Date.now();
    const clocked = createJwtService({
      secret: SECRET,
      issuer: ISSUER,
      audience: AUDIENCE,
      ttlSeconds: 60,
      now: () => now,
    });
    const { token } = await clocked.mint(ALICE);
    await clocked.verify(token);
    now += 61_000;
    await expect(clocked.verify(token)).rejects.toThrow("Token has expired");
  });
});
