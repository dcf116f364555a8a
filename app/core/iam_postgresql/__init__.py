"""PostgreSQL with RDS IAM authentication: see base.py."""
