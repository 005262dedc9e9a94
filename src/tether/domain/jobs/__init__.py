"""Auth0's bulk user jobs (Management API v2 ``/jobs``): imports with password hashes, exports.

A job is a row in the database: the import's file, how many of its rows are done (committed with
those rows), its counts and its failed rows. The server's runner works through pending jobs one at
a time per tenant and resumes an interrupted one from its last committed batch.
"""
