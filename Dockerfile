# One image for every Vigil process; the command picks the role (vigil gateway | ingest | api | sim | start).
FROM node:20-bookworm-slim
# better-sqlite3 builds from source on Node 20.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/vigil
COPY package.json package-lock.json ./
COPY model/package.json model/
COPY simulators/package.json simulators/
COPY gateway/package.json gateway/
COPY ingest/package.json ingest/
COPY api/package.json api/
COPY dashboard/package.json dashboard/
RUN npm ci --ignore-scripts=false --omit=optional && npm cache clean --force
COPY . .
RUN npm run build
ENV VIGIL_DATA_DIR=/var/lib/vigil VIGIL_HOST=0.0.0.0
VOLUME /var/lib/vigil
USER node
ENTRYPOINT ["node", "bin/vigil.js"]
CMD ["start"]
