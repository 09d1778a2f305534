# syntax=docker/dockerfile:1
# One image for `barrage start`, `barrage edge` and `barrage core`:
#   docker build -t barrage .
#   docker run -p 8080:8080 barrage                      # start: everything in one process
#   docker run -e BARRAGE_SECRET=... barrage edge --nats nats://nats:4222
#   docker run -e BARRAGE_SECRET=... barrage core --nats nats://nats:4222
# deploy/compose.yaml and deploy/helm/barrage run it; deploy/README.md has the details.

# Debian bookworm, the release the test command takes tini and Prometheus from;
# Node as on the machines the test suite runs on.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# ---- build: the same install-and-build script the test command runs from a fresh clone
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY . .
# npm install from the lockfile (registry only), generated-code check, tsc and the bundles;
# then drop the development dependencies (TypeScript, esbuild, vitest, ...) and the
# uWebSockets.js binaries of other platforms (scripts/prune-image.mjs).
RUN bash scripts/install.sh \
 && npm prune --omit=dev --no-audit --no-fund --loglevel=error \
 && node scripts/prune-image.mjs node_modules \
 && rm -rf node_modules/.cache

# ---- runtime
FROM ${NODE_IMAGE}
# tini as PID 1: it forwards SIGTERM to node (which drains: /readyz 503, sockets
# closed with 4000, analytics flushed) and reaps zombies; Debian's package.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Only what the process reads: package.json (packageRoot), dist/, production
# node_modules and the two HTML pages the edge serves. Owned by root, so the
# non-root process cannot change its own code.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/widget/pages ./widget/pages
# The one writable place: the development secret of `start`, chDB's data, the
# analytics and webhook spills and the webhook dead letters. Mount a volume (compose) or an emptyDir (Helm) here; the
# root filesystem can then be read-only.
RUN mkdir -p /var/lib/barrage && chown 10001:10001 /var/lib/barrage
# Every path setting that defaults under the working directory (.barrage/...) is
# moved to the volume (test/deploy/image.test.ts checks the settings table for new ones).
ENV NODE_ENV=production \
    BARRAGE_SECRET_FILE=/var/lib/barrage/dev-secret \
    BARRAGE_ANALYTICS_PATH=/var/lib/barrage/analytics \
    BARRAGE_ANALYTICS_SPILL=/var/lib/barrage/analytics-spill \
    BARRAGE_WEBHOOK_SPILL=/var/lib/barrage/webhook-spill \
    BARRAGE_WEBHOOK_DEAD_DIR=/var/lib/barrage/webhook-dead \
    BARRAGE_VIDEOS_DIR=/var/lib/barrage/videos
USER 10001:10001
VOLUME ["/var/lib/barrage"]
# 8080: an edge's WebSocket and HTTP (start and edge); 9470: core's /healthz, /readyz, /metrics.
EXPOSE 8080 9470
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "dist/bin/barrage.js", "health"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--max-semi-space-size=1", "dist/bin/barrage.js"]
CMD ["start"]
