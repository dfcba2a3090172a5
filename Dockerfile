# The production image: the runtime lock only (no test or lint tools), installed with hashes; runs as a
# non-root user. docker-compose.yml runs the same image as web (this CMD), worker, beat and migrate.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir --require-hashes -r requirements.txt
COPY . .
RUN DJANGO_DEBUG=false DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input
RUN useradd --system --no-create-home smartgate
USER smartgate
EXPOSE 8000
CMD ["gunicorn", "smartgate.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
