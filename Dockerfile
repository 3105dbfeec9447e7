# The bundled server in a container. Not built on the development machines
# (they have no Docker engine); kept simple so that `docker build .` works elsewhere.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY server ./server
COPY redistui ./redistui
RUN pip install --no-cache-dir .
VOLUME /data
EXPOSE 6379
CMD ["python", "-m", "server", "--bind", "0.0.0.0", "--protected-mode", "no", "--dir", "/data", "--port", "6379"]
