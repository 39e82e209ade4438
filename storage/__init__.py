"""Object stores (where the bytes live) and the SQLAlchemy catalog (what we know about them)."""
