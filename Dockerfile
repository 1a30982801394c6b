# syntax=docker/dockerfile:1
# One image for everything: `switchyard operator` and `switchyard node --role …`.
# Node.js 26 is the current LTS ("Lithium"); the tag is pinned to an exact release. The base is a
# build argument so that the real-cluster tests build this same file on a local base image
# (scripts/real-cluster/build-image.sh: Debian trixie + Node 20, no registry).
ARG NODE_IMAGE=node:26.13.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY cli ./cli
COPY node ./node
COPY operator ./operator
COPY bench ./bench
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Non-root, and nothing written at run time: pods mount their configuration read-only and run
# with a read-only root filesystem.
USER 10001:10001
EXPOSE 7000/udp 9464/tcp 8080/tcp
ENTRYPOINT ["node", "/app/dist/cli/switchyard.js"]
CMD ["--help"]
