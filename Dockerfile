# syntax=docker/dockerfile:1
# The Node home for production: `docker build -t nearbase .` then
#   docker run -p 8787:8787 -v nearbase-data:/data nearbase
# Stage 1 installs everything and builds (npm run build → dist/server.js, npm run build:ui → the
# admin dashboard); stage 2 holds only what runs: production dependencies (the native libSQL
# binding among them), the bundle, the dashboard and the migrations, as a non-root user.
# test/node/docker-layout.test.ts assembles the runtime stage's files as listed here and starts
# them, so this file and the build cannot drift apart unnoticed (there is no Docker on the CI
# machine to build the image itself).

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts off: the image already has Node 22 (the `node` devDependency only serves npm scripts
# on machines that lack it), and the builds below are run explicitly.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm run build && npm run build:ui \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8787 \
    DATABASE_URL=file:/data/nearbase.db \
    SIGNING_KEYS_FILE=/data/signing-keys.json \
    DATA_KEYS_FILE=/data/data-keys.json
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/migrations ./migrations
COPY --from=build /app/ui/dist ./ui/dist
RUN mkdir /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8787
# Ready = database reachable, migrations applied, signing keys usable (not merely "process up").
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/ready`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node is PID 1 and handles SIGTERM itself: stop accepting, finish in-flight requests within
# SHUTDOWN_GRACE_MS (default 10 s, below Docker's default 10 s stop timeout: raise
# `stop_grace_period` with it), close libSQL, exit 0.
STOPSIGNAL SIGTERM
CMD ["node", "dist/server.js"]
