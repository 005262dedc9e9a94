"""SQLAlchemy storage: implements domain.ports. The only package that imports sqlalchemy."""
