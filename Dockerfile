# One image for every service: they share the same dependencies and utils/, so one build serves
# all thirteen containers and each compose service only picks its command (`python -m <service>`).
# BASE_IMAGE defaults to the official Python image; hosts without a registry build
# bookstore-base:bookworm offline with docker/build-base-image.sh (debootstrap + docker import).
#
# Few steps, every setting before the source: the legacy builder (Docker 20.10 without buildx) runs
# each instruction, even USER or CMD, in a container and commits it, which costs 10–30 s apiece on
# fuse-overlayfs; ordered this way a source change rebuilds one step (the last COPY).
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH \
    LISTEN_HOST=0.0.0.0 DATA_DIR=/data

# Dependencies come from a wheelhouse prepared on the host (docker/build-wheelhouse.sh): no network.
# The user is written by hand: the debootstrap minbase may not carry useradd.
COPY .build/wheelhouse docker/requirements.txt /tmp/wheelhouse/
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install -q --no-index --find-links /tmp/wheelhouse -r /tmp/wheelhouse/requirements.txt \
 && rm -rf /tmp/wheelhouse /root/.cache \
 && echo 'app:x:10001:10001:bookstore:/app:/usr/sbin/nologin' >> /etc/passwd \
 && echo 'app:x:10001:' >> /etc/group \
 && mkdir -p /data /app && chown 10001:10001 /data /app

WORKDIR /app
USER 10001
# docker-compose.yaml gives each service its command; /data is each replica's named volume.
COPY --chown=10001:10001 . /app
