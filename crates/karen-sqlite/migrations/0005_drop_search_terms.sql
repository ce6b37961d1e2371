-- Service search answers from karen's in-process catalog snapshot (docs/decisions.md K23, K28),
-- so the word index kept for its fallback goes: one word rule, in the core.
DROP INDEX IF EXISTS idx_service_search_terms_service;
DROP TABLE IF EXISTS service_search_terms;
