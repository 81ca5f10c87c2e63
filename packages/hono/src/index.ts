export {
  type AuthOutcome,
  BearerAuthConfigError,
  type BearerAuthInfo,
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
