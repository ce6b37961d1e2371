-- The design's warranty rule (warranty_period_days >= 0) was enforced by karen's validation
-- only; the schema holds it too now, so another program cannot store a negative warranty.
ALTER TABLE services
    ADD CONSTRAINT ck__services__warranty_period_days CHECK (warranty_period_days >= 0);
