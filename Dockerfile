FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
COPY plugins ./plugins
RUN pip install --no-cache-dir -c constraints.txt .
ENV CMGRAPH_PLUGINS_DIR=/app/plugins
EXPOSE 8000
# Needs CMGRAPH_SECRET_KEY (webhook delivery), or add --no-dispatch (docs/webhooks.md).
CMD ["sh", "-c", "cmgraph db upgrade && exec cmgraph serve --host 0.0.0.0 --port 8000"]
