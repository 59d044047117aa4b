// Every system table, one file per concern. drizzle-kit reads this folder (drizzle.config.ts).

export * from "./auth";
export * from "../../files/schema";
export * from "./events";
export * from "./privacy";
export * from "../../search/schema";
export * from "./strong-auth";
export * from "./system";
