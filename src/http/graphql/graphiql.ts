/**
 * GraphiQL for development, without inline scripts: the page loads React, ReactDOM and GraphiQL
 * 3.8.3 (UMD builds) from jsDelivr, each pinned to an exact version with the SHA-384 of the file
 * as published on npm (Subresource Integrity: `npm pack graphiql@3.8.3 react@18.3.1
 * react-dom@18.3.1`, then `openssl dgst -sha384 -binary <file> | openssl base64 -A`), and our own
 * start-up script from /graphql/graphiql.js. The page's Content-Security-Policy allows scripts
 * only from there ('self' and the pinned CDN files' host); inline styles are allowed because
 * GraphiQL's editor sets style attributes. Shown only while introspection is on.
 */
const cdn = "https://cdn.jsdelivr.net/npm";
const assets = {
  react: {
    src: `${cdn}/react@18.3.1/umd/react.production.min.js`,
    integrity: "sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z",
  },
  reactDom: {
    src: `${cdn}/react-dom@18.3.1/umd/react-dom.production.min.js`,
    integrity: "sha384-gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1",
  },
  graphiql: {
    src: `${cdn}/graphiql@3.8.3/graphiql.min.js`,
    integrity: "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie",
  },
  css: {
    src: `${cdn}/graphiql@3.8.3/graphiql.min.css`,
    integrity: "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM",
  },
} as const;

const script = (a: { src: string; integrity: string }) =>
  `<script src="${a.src}" integrity="${a.integrity}" crossorigin="anonymous"></script>`;

export const graphiqlPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Nearbase GraphQL</title>
<link rel="stylesheet" href="${assets.css.src}" integrity="${assets.css.integrity}" crossorigin="anonymous">
</head>
<body>
<div id="graphiql">Loading GraphiQL… (the schema is also printed by <code>npm run graphql:schema</code>)</div>
${script(assets.react)}
${script(assets.reactDom)}
${script(assets.graphiql)}
<script src="/graphql/graphiql.js"></script>
</body>
</html>`;

export const graphiqlScript = `"use strict";
document.body.style.margin = "0";
var host = document.getElementById("graphiql");
host.style.height = "100vh";
ReactDOM.createRoot(host).render(
  React.createElement(GraphiQL, {
    fetcher: GraphiQL.createFetcher({ url: "/graphql", headers: {} }),
    defaultQuery: "{\\n  me { id email }\\n}\\n",
  }),
);
`;

export const graphiqlPolicy = [
  "default-src 'none'",
  "script-src 'self' https://cdn.jsdelivr.net",
  "style-src https://cdn.jsdelivr.net 'unsafe-inline'",
  "font-src https://cdn.jsdelivr.net data:",
  "img-src 'self' data:",
  "connect-src 'self'",
].join("; ");
