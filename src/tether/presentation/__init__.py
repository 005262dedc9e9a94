"""Auth0's JSON shapes of domain records, for every surface that shows them the same way.

Web-free and storage-free (an import-linter contract keeps it so): the Management API validates
these dicts against its response models (web/management/schemas.py), the dashboard shows them
as raw JSON and the CLI prints them. The domain never imports this package: services return
domain models and each caller shapes them.
"""
