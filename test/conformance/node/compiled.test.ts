import { defineCollectionsRestSuite } from "../collections-rest.suite";
import { makeCompiledHome } from "../compiled-home";
import { defineFoundationSuite } from "../foundation.suite";

// The production build (`npm run build` → `node dist/server.js`, issue 17) holds the same
// contract as the in-process Node home: health, problem+json errors, limits, headers, and the
// collections REST API, over a real socket.
defineFoundationSuite(makeCompiledHome);
defineCollectionsRestSuite(makeCompiledHome);
