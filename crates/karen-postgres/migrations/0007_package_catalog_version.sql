-- Quotes read packages and their services from the catalog snapshot (decisions.md item 23,
-- docs/decisions.md K41): writes to them change the catalog version too.
CREATE TRIGGER trg_service_packages_catalog_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON service_packages
    FOR EACH STATEMENT EXECUTE FUNCTION karen_bump_catalog_version();
CREATE TRIGGER trg_package_services_catalog_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON package_services
    FOR EACH STATEMENT EXECUTE FUNCTION karen_bump_catalog_version();
