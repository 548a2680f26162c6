"""Public wage-claim pages (/claim/): a migrant worker files, proves and follows his claim.

No account and no JavaScript needed: server-rendered forms over the same services, schemas and
rate limits as `/api/v1/public/wage-claims`, small enough for a cheap phone on a prepaid plan.
"""
