-- Service search answers from karen's in-process catalog snapshot (docs/decisions.md K23, K28),
-- so the word column kept for its fallback goes, with the trigger whose word rule differed from
-- the core's: one word rule, in the core. The design's keywords column and its GIN index stay.
DROP TRIGGER IF EXISTS trg_services_search_terms ON services;
DROP FUNCTION IF EXISTS karen_service_search_terms();
DROP INDEX IF EXISTS idx_services_search_terms;
ALTER TABLE services DROP COLUMN IF EXISTS search_terms;
