// Every system table, one file per concern. drizzle-kit reads this folder (drizzle.config.ts).

export * from "../../files/schema";
export * from "../../search/schema";
export * from "./auth";
export * from "./events";
export * from "./privacy";
export * from "./strong-auth";
export * from "./system";
