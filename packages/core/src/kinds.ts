/**
 * The kinds of entry, one declaration each (see {@link Kind}). A new kind is a declaration here
 * plus its API methods in auth-cache.ts; its invalidations follow from its owner tags.
 */
import { INVALID, type Kind, type PerUser } from "./kind.ts";
import { L1_SPACE, teamIdsSub } from "./l1-address.ts";
import {
  type AuthContext,
  adoptContext,
  adoptUser,
  copyContext,
  copyTeams,
  copyUser,
  isStringArray,
  typeError,
} from "./values.ts";

const never = (): boolean => false;
const noJti = (): undefined => undefined;

/** A token's auth context, by (email, jti); a context asked without a jti is its own entry. */
export function contextKind<U extends object>(): Kind<AuthContext<U>, string | undefined> {
  return {
    tag: "ctx",
    ttl: "ctx",
    nullIsValue: false,
    space: (jti) => (jti === undefined ? L1_SPACE.CONTEXT_WITHOUT_JTI : L1_SPACE.CONTEXT),
    sub: (jti) => jti ?? "",
    jti: (_email, jti) => jti,
    owners: (t, email, jti) =>
      jti === undefined ? [t.derived(email)] : [t.derived(email), t.jti(jti)],
    l2: (c, email, jti) => ({
      key: c.ctx(email, jti),
      fenceKey: c.fence(email),
      teamGenKey: undefined,
      revokedMember: jti === undefined ? undefined : c.revokedMember(jti),
      owners: [c.userOwner(email, "ctx")],
    }),
    perUser: { tags: (t, email) => [t.derived(email)], drop: () => ({ owner: "ctx" }) },
    // The decoded value is a fresh object: checked, redacted and frozen in place.
    accept: (env, redact) => adoptContext<U>(env.value, redact),
    copy: (v, redact, argument) => copyContext<U>(v, redact, argument),
    absent: never,
  };
}

/** A user record, by email (redacted before anything is cached). */
export function userKind<U extends object>(): Kind<Readonly<U>, undefined> {
  return {
    tag: "user",
    ttl: "user",
    nullIsValue: false,
    space: () => L1_SPACE.USER,
    sub: () => "u",
    jti: noJti,
    owners: (t, email) => [t.user(email)],
    l2: (c, email) => ({
      key: c.user(email),
      fenceKey: c.fence(email),
      teamGenKey: undefined,
      revokedMember: undefined,
      owners: [],
    }),
    perUser: {
      tags: (t, email) => [t.user(email)],
      drop: (c, email) => ({ keys: [c.user(email)] }),
    },
    accept: (env, redact) => adoptUser<U>(env.value, redact),
    copy: (v, redact, argument) => copyUser<U>(v, redact, argument),
    absent: never,
  };
}

/** A user's role in a team, by (email, teamId): a string, or `null` = not a member (stored as
 *  "known absent"). Also dead once its team's generation moves (invalidateTeamRoles). */
export const roleKind: Kind<string | null, string> = {
  tag: "role",
  ttl: "role",
  nullIsValue: true,
  space: () => L1_SPACE.ROLE,
  sub: (teamId) => teamId,
  jti: noJti,
  owners: (t, email, teamId) => [t.derived(email), t.role(email, teamId), t.teamRoles(teamId)],
  l2: (c, email, teamId) => ({
    key: c.role(email, teamId),
    fenceKey: c.fence(email),
    teamGenKey: c.teamGeneration(teamId),
    revokedMember: undefined,
    owners: [c.userOwner(email, "role"), c.teamOwner(teamId)],
  }),
  perUser: { tags: (t, email) => [t.derived(email)], drop: () => ({ owner: "role" }) },
  accept: (env) => {
    if (env.absent) return null;
    return typeof env.value === "string" ? env.value : INVALID;
  },
  copy: (v, _redact, argument) => {
    if (v !== null && typeof v !== "string") throw typeError(argument, "a string or null", v);
    return v;
  },
  absent: (v) => v === null,
};

/** A user's team ids, by (email, includePersonal); `[]` is an answer. */
export const userTeamsKind: Kind<readonly string[], boolean> = {
  tag: "teams",
  ttl: "teamsList",
  nullIsValue: false,
  space: () => L1_SPACE.USER,
  sub: (includePersonal) => (includePersonal ? "T" : "t"),
  jti: noJti,
  owners: (t, email) => [t.derived(email), t.teamLists(email)],
  l2: (c, email, includePersonal) => ({
    key: c.teams(email, includePersonal),
    fenceKey: c.fence(email),
    teamGenKey: undefined,
    revokedMember: undefined,
    owners: [],
  }),
  perUser: {
    tags: (t, email) => [t.derived(email), t.teamLists(email)],
    drop: (c, email) => ({ keys: [c.teams(email, true), c.teams(email, false)] }),
  },
  accept: (env) => (isStringArray(env.value) ? Object.freeze(env.value) : INVALID),
  copy: (v, _redact, argument) => copyTeams(v, argument),
  absent: never,
};

const NO_REDACT: readonly string[] = [];

/** A user's teams as records (not just ids), by (email, includePersonal); `[]` is an answer.
 *  Dropped with the user's team lists. */
export function teamObjectsKind<T extends object>(): Kind<readonly Readonly<T>[], boolean> {
  return {
    tag: "teamObjects",
    ttl: "teamsList",
    nullIsValue: false,
    space: () => L1_SPACE.USER,
    sub: (includePersonal) => (includePersonal ? "O" : "o"),
    jti: noJti,
    owners: (t, email) => [t.derived(email), t.teamLists(email)],
    l2: (c, email, includePersonal) => ({
      key: c.teamObjects(email, includePersonal),
      fenceKey: c.fence(email),
      teamGenKey: undefined,
      revokedMember: undefined,
      owners: [],
    }),
    perUser: {
      tags: (t, email) => [t.derived(email), t.teamLists(email)],
      drop: (c, email) => ({ keys: [c.teamObjects(email, true), c.teamObjects(email, false)] }),
    },
    accept: (env) => {
      if (!Array.isArray(env.value)) return INVALID;
      return Object.freeze(env.value.map((team) => adoptUser<T>(team, NO_REDACT)));
    },
    copy: (v, _redact, argument) => {
      if (!Array.isArray(v)) throw typeError(argument, "an array of plain objects", v);
      return Object.freeze(v.map((team, i) => copyUser<T>(team, NO_REDACT, `${argument}[${i}]`)));
    },
    absent: never,
  };
}

/** Whether a user is a valid member of every team of a set, by (email, canonical team ids:
 *  sorted, de-duplicated, never empty). */
export const membershipKind: Kind<boolean, readonly string[]> = {
  tag: "mem",
  ttl: "team",
  nullIsValue: false,
  space: () => L1_SPACE.MEMBERSHIP,
  sub: teamIdsSub,
  jti: noJti,
  owners: (t, email) => [t.derived(email), t.membership(email)],
  l2: (c, email, teamIds) => ({
    key: c.membership(email, teamIds),
    fenceKey: c.fence(email),
    teamGenKey: undefined,
    revokedMember: undefined,
    owners: [c.userOwner(email, "mem")],
  }),
  perUser: {
    tags: (t, email) => [t.derived(email), t.membership(email)],
    drop: () => ({ owner: "mem" }),
  },
  accept: (env) => (typeof env.value === "boolean" ? env.value : INVALID),
  copy: (v, _redact, argument) => {
    if (typeof v !== "boolean") throw typeError(argument, "a boolean", v);
    return v;
  },
  absent: never,
};

/** "Known not revoked", by jti: short-lived, and never outvotes a revocation (every read
 *  checks the revoked set; there is no user to fence on). */
export const notRevokedKind: Kind<false, undefined> = {
  tag: "nr",
  ttl: "revocation",
  nullIsValue: false,
  space: () => L1_SPACE.JTI,
  sub: () => "n",
  jti: (jti) => jti,
  owners: (t, jti) => [t.jti(jti)],
  l2: (c, jti) => ({
    key: c.notRevoked(jti),
    fenceKey: undefined,
    teamGenKey: undefined,
    revokedMember: c.revokedMember(jti),
    owners: [],
  }),
  accept: (env) => (env.value === false ? false : INVALID),
  copy: (v, _redact, argument) => {
    if (v !== false) throw typeError(argument, "false", v);
    return v;
  },
  absent: never,
};

/** Every kind whose entries belong to a user: per-user invalidations drop from L2 those whose
 *  tags they carry (invalidations.ts). A new per-user kind is added here. */
export const PER_USER_KINDS: readonly { readonly perUser?: PerUser }[] = [
  contextKind(),
  userKind(),
  roleKind,
  userTeamsKind,
  teamObjectsKind(),
  membershipKind,
];
