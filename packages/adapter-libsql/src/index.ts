export { createLibsqlBus, type LibsqlBus, type LibsqlBusOptions } from "./bus.ts";
export { isBusyError, type LibsqlConnectionOptions } from "./connection.ts";
export { createLibsqlStore, type LibsqlStore, type LibsqlStoreOptions } from "./store.ts";
