export {
  type AuthOutcome,
  BearerAuthConfigError,
  type BearerAuthInfo,
  type BearerAuthMiddleware,
  type BearerAuthOptions,
  type BearerEnv,
  bearerAuth,
  type Refusal,
  type RefusalAnswer,
  refusal,
} from "./bearer-auth.ts";
export { type BearerErrorCode, bearerChallenge, type ChallengeParams } from "./challenge.ts";
export {
  type ProtectedResourceMetadata,
  protectedResourceMetadata,
  protectedResourceMetadataPath,
  protectedResourceMetadataUrl,
} from "./protected-resource.ts";
export {
  createVerifiedTokens,
  DEFAULT_VERIFIED_TOKENS_MAX_AGE_SECONDS,
  DEFAULT_VERIFIED_TOKENS_MAX_ENTRIES,
  type VerifiedToken,
  VerifiedTokenCacheConfigError,
  type VerifiedTokenCacheOptions,
  type VerifiedTokens,
} from "./verified-tokens.ts";
