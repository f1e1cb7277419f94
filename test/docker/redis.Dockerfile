# A redis:7.0-compatible image for the docker test, from Debian's redis-server (no registry needed).
ARG BASE=debian:bookworm
FROM ${BASE}
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server redis-tools \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /data
CMD ["redis-server"]
