# One image for every service: they share the same dependencies and utils/, so one build serves
# all fifteen containers and each compose service only picks its command (`python -m <service>`).
# BASE_IMAGE defaults to the official Python image; hosts without a registry build
# bookstore-base:bookworm offline with docker/build-base-image.sh (debootstrap + docker import).
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH \
    LISTEN_HOST=0.0.0.0 DATA_DIR=/data

# Dependencies come from a wheelhouse prepared on the host (docker/build-wheelhouse.sh): no network.
COPY .build/wheelhouse /tmp/wheelhouse
COPY docker/requirements.txt /tmp/requirements.txt
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install -q --no-index --find-links /tmp/wheelhouse -r /tmp/requirements.txt \
 && rm -rf /tmp/wheelhouse /root/.cache

# A non-root user without relying on useradd (the debootstrap minbase may not carry it).
RUN echo 'app:x:10001:10001:bookstore:/app:/usr/sbin/nologin' >> /etc/passwd \
 && echo 'app:x:10001:' >> /etc/group \
 && mkdir -p /data /app && chown 10001:10001 /data /app

WORKDIR /app
COPY --chown=10001:10001 . /app
USER 10001
VOLUME ["/data"]
CMD ["python", "-m", "utils.rpc.healthcheck", "--help"]
