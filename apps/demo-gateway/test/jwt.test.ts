/** Minting: what the bearer middleware will check is what the token carries. The refusals
 *  (alg none, signature, audience, issuer, expiry) are tried through the app in auth.test.ts. */
import { describe, expect, test } from "bun:test";
import { jwtVerify } from "jose";
import { createJwtService } from "../src/jwt.ts";
import { ALICE, AUDIENCE, ISSUER, SECRET } from "./helpers.ts";

describe("jwt", () => {
  test("a minted token verifies under the pinned verification, with subject, jti, expiry and scope", async () => {
    const jwt = createJwtService({
      secret: SECRET,
      issuer: ISSUER,
      audience: AUDIENCE,
      ttlSeconds: 60,
    });
    const minted = await jwt.mint(ALICE, { teams: ["team-research"] });
    const v = jwt.verification;
    expect(v.algorithms).toEqual(["HS256"]);
    const { payload, protectedHeader } = await jwtVerify(minted.token, v.key, {
      algorithms: [...v.algorithms],
      issuer: v.issuer,
      audience: v.audience,
      requiredClaims: ["exp", "sub", "jti"],
    });
    expect(protectedHeader.alg).toBe("HS256");
    expect(payload).toMatchObject({ sub: ALICE, jti: minted.jti, teams: ["team-research"] });
    expect((payload.exp ?? 0) * 1000).toBe(minted.expiresAt);
  });

  test("expiry comes from the service clock, and the verification uses the same clock", async () => {
    let now = Date.now() + 3_600_000;
    const jwt = createJwtService({
      secret: SECRET,
      issuer: ISSUER,
      audience: AUDIENCE,
      ttlSeconds: 60,
      now: () => now,
    });
    const { token, expiresAt } = await jwt.mint(ALICE);
    expect(expiresAt).toBe((Math.floor(now / 1000) + 60) * 1000);
    const verify = () =>
      jwtVerify(token, jwt.verification.key, {
        algorithms: [...jwt.verification.algorithms],
        currentDate: new Date(jwt.verification.now()),
      });
    await verify();
    now += 61_000;
    await expect(verify()).rejects.toThrow(/exp/);
  });
});
