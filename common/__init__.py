"""What every app's API and admin share: the error envelope, the API view base, JSON parsing,
token authentication, pagination, id parsing and read-only admin. Imports no app of this project
(see ARCHITECTURE.md)."""
