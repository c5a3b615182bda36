# Copy to instance/config.py and adjust. Environment variables override these values.
# Without SECRET_KEY a random one is generated once into instance/secret_key.
# SECRET_KEY = "a long random string"
# DATABASE_URL = "postgresql+psycopg://szcg:secret@127.0.0.1:5432/szcg"
# UPLOAD_DIR = "/var/lib/szcg/uploads"
# SCHEDULER_ENABLED = True
