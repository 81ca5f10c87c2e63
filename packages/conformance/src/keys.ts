/** Keys shaped the way core builds them (prefix + kind + `{hashtag}` + encoded ids), so adapters
 *  in cluster mode meet the same slot layout here as in production: a user's keys, fence
 *  counter and owner index share one slot; other users, team indexes and global keys do not. */

const runId = Math.random().toString(36).slice(2, 8);
let testSeq = 0;

/** Percent-encodes every byte outside [A-Za-z0-9._~-], as core's key codec does. */
export function enc(id: string): string {
  return encodeURIComponent(id).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The keys of one test. Every call of `testKeys()` returns a new, unique prefix. */
export interface TestKeys {
  readonly prefix: string;
  /** `${p}ctx:{u:<email>}:<jti>`: a token's auth context. */
  ctx(email: string, jti: string): string;
  /** `${p}user:{u:<email>}`. */
  user(email: string): string;
  /** `${p}role:{u:<email>}:<team>`. */
  role(email: string, teamId: string): string;
  /** `${p}gen:{u:<email>}`: the user's fence counter. */
  gen(email: string): string;
  /** `${p}own:{u:<email>}`: the user's owner index. */
  owner(email: string): string;
  /** `${p}own:{t:<team>}`: a team's owner index (another slot than its members' keys). */
  teamOwner(teamId: string): string;
  /** `${p}revoked`: the revoked set (no hash tag). */
  readonly revoked: string;
  /** `${p}gen:all`: the global generation counter (no hash tag). */
  readonly genAll: string;
  /** `${p}nr:{j:<jti>}`: a not-revoked negative entry. */
  notRevoked(jti: string): string;
}

export function testKeys(): TestKeys {
  testSeq += 1;
  const p = `ct${runId}${testSeq}:`;
  const u = (email: string) => `{u:${enc(email)}}`;
  return {
    prefix: p,
    ctx: (email, jti) => `${p}ctx:${u(email)}:${enc(jti)}`,
    user: (email) => `${p}user:${u(email)}`,
    role: (email, teamId) => `${p}role:${u(email)}:${enc(teamId)}`,
    gen: (email) => `${p}gen:${u(email)}`,
    owner: (email) => `${p}own:${u(email)}`,
    teamOwner: (teamId) => `${p}own:{t:${enc(teamId)}}`,
    revoked: `${p}revoked`,
    genAll: `${p}gen:all`,
    notRevoked: (jti) => `${p}nr:{j:${enc(jti)}}`,
  };
}
