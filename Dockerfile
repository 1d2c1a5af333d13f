# orderhub stream worker. Build: docker build -t orderhub .   Run: docker run -e ORDERHUB_BROKER=kafka:9092 orderhub
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    ORDERHUB_DATA_DIR=/var/lib/orderhub ORDERHUB_WEB_HOST=0.0.0.0 ORDERHUB_LOG_FORMAT=json
WORKDIR /opt/orderhub
COPY pyproject.toml README.md ./
COPY app ./app
COPY agents ./agents
COPY tables ./tables
RUN pip install --no-cache-dir . && useradd --system --home /var/lib/orderhub orderhub \
    && mkdir -p /var/lib/orderhub && chown orderhub /var/lib/orderhub
USER orderhub
VOLUME /var/lib/orderhub
EXPOSE 6066
ENTRYPOINT ["orderhub"]
CMD ["worker"]
