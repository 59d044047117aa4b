import { createTestApp } from "../harness";
import { type Home, homeSettings, type MakeHome, type SqlValue, withContract } from "./home";

/** The Node home: the app in-process on a fresh, migrated, embedded libSQL file per home. */
export const makeNodeHome: MakeHome = withContract(async (options = {}) => {
  const t = await createTestApp({
    env: {
      ...homeSettings,
      ...(options.clientAddresses ? { TRUST_PROXY: "true" } : {}),
      ...options.env,
    },
  });
  const home: Home = {
    name: "node",
    request(path, init = {}) {
      const { from, ...rest } = init;
      if (from === undefined) return t.request(path, rest);
      if (!options.clientAddresses) throw new Error("request({ from }) needs clientAddresses");
      const headers = new Headers(rest.headers);
      headers.set("x-forwarded-for", from);
      return t.request(path, { ...rest, headers });
    },
    async signIn(role = "user") {
      const { id, email, accessToken, refreshToken, headers } = await t.signIn(role);
      return { id, email, accessToken, refreshToken, headers };
    },
    async sql(statement: string, args: SqlValue[] = []) {
      const rs = await t.client.execute({ sql: statement, args });
      return rs.rows.map((row) => ({ ...row }));
    },
    settle: () => t.platform.settle(),
    async mail(to) {
      await t.platform.settle();
      return t.mail
        .filter((m) => m.to === to)
        .map(({ to, subject, text }) => ({ to, subject, text }));
    },
    async logs() {
      await t.platform.settle();
      return t.log.events.map((event) => ({ ...event }));
    },
    secret: (name) => t.platform.secrets.get(name),
    close: () => t.close(),
  };
  return home;
});
