# cache-access container: built on the full Node 24 LTS image, run on the slim one as the unprivileged
# `node` user. Settings come from the environment (see README); mount the policy at /app/policy.yml.

FROM node:24-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# The bundles hold the program and its libraries; dist/package.json and its lock name only what they
# load from node_modules (native addons). better-sqlite3 is fetched or compiled here, for this image's
# Node and glibc, and the compilers it may need are removed in the same layer so they never ship.
COPY --from=build /app/dist/package.json /app/dist/package-lock.json ./dist/
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && cd dist && npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && apt-get purge -y --auto-remove python3 make g++ \
 && rm -rf /var/lib/apt/lists/* /root/.cache
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
RUN mkdir -p /app/data && chown node:node /app/data
ENV DATABASE_PATH=/app/data/cache-access.db PORT=3000
VOLUME ["/app/data"]
USER node
EXPOSE 3000
# Slim images have no curl; Node's own fetch asks the liveness endpoint on whatever PORT is set.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Source-mapped stack traces; a young generation of at most 2 MB semi-spaces (Node's default grows to 16 MB)
# keeps start-up and reconcile bursts from leaving the process tens of MB larger (README, Footprint).
CMD ["node", "--enable-source-maps", "--max-semi-space-size=2", "dist/main.js"]
