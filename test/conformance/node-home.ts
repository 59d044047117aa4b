import { createTestApp } from "../harness";
import type { Home, MakeHome, SqlValue } from "./home";

/** The Node home: the app in-process on a fresh, migrated, embedded libSQL file per home. */
export const makeNodeHome: MakeHome = async (options = {}) => {
  const t = await createTestApp({ env: options.env });
  const home: Home = {
    name: "node",
    request: (path, init) => t.request(path, init),
    async signIn(role = "user") {
      const { id, email, accessToken, refreshToken, headers } = await t.signIn(role);
      return { id, email, accessToken, refreshToken, headers };
    },
    async sql(statement: string, args: SqlValue[] = []) {
      const rs = await t.client.execute({ sql: statement, args });
      return rs.rows.map((row) => ({ ...row }));
    },
    settle: () => t.platform.settle(),
    close: () => t.close(),
  };
  return home;
};
