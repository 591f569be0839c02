"""Accounts, roles and API tokens: who may sign in, as what, and what each role may do.

Roles and their permissions are data (`data/roles.yaml`); `rules` reads them and answers
`can(principal, permission)`; `service` is the only door that creates or changes accounts
and tokens, each change with its audit event.
"""
