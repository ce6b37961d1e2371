-- karen schema v4: the catalog version (docs/decisions.md K23). Every statement that writes
-- services, service_categories or service_pricing_tiers bumps one counter in the same
-- transaction, whoever runs it, so karen's in-process search snapshot can tell with one keyed
-- read whether the catalog changed since it was built. Catalog writers take turns on the counter
-- row until they commit; catalog writes are rare next to searches.
CREATE TABLE karen_catalog_version (
    id BOOLEAN PRIMARY KEY DEFAULT TRUE CONSTRAINT ck__karen_catalog_version__one_row CHECK (id),
    version BIGINT NOT NULL
);
INSERT INTO karen_catalog_version (id, version) VALUES (TRUE, 1);

CREATE FUNCTION karen_bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE karen_catalog_version SET version = version + 1 WHERE id;
    RETURN NULL;
END
$$;

CREATE TRIGGER trg_services_catalog_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON services
    FOR EACH STATEMENT EXECUTE FUNCTION karen_bump_catalog_version();
CREATE TRIGGER trg_service_categories_catalog_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON service_categories
    FOR EACH STATEMENT EXECUTE FUNCTION karen_bump_catalog_version();
CREATE TRIGGER trg_service_pricing_tiers_catalog_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON service_pricing_tiers
    FOR EACH STATEMENT EXECUTE FUNCTION karen_bump_catalog_version();
