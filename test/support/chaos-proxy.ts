/**
 * Moved: the tests' one TCP proxy is `startTcpProxy` in `@authcache/test-servers`
 * (scripts/test-servers/src/proxy.ts). These names stay until every import uses it.
 */
export {
  type ProxyStats as ChaosProxyStats,
  startTcpProxy as startChaosProxy,
  type TcpProxy as ChaosProxy,
} from "@authcache/test-servers";
