-- karen schema v4: the catalog version (docs/decisions.md K23). Every row written to services,
-- service_categories or service_pricing_tiers bumps one counter in the same transaction,
-- whoever writes it, so karen's in-process search snapshot can tell with one keyed read whether
-- the catalog changed since it was built.
CREATE TABLE karen_catalog_version (
    id INTEGER PRIMARY KEY CONSTRAINT ck__karen_catalog_version__one_row CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO karen_catalog_version (id, version) VALUES (1, 1);
CREATE TRIGGER trg_services_catalog_version_insert AFTER INSERT ON services
    BEGIN UPDATE karen_catalog_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER trg_services_catalog_version_update AFTER UPDATE ON services
    BEGIN UPDATE karen_catalog_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER trg_services_catalog_version_delete AFTER DELETE ON services
    BEGIN UPDATE karen_catalog_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER trg_service_categories_catalog_version_insert AFTER INSERT ON service_categories
    BEGIN UPDATE karen_catalog_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER trg_service_categories_catalog_version_update AFTER UPDATE ON service_categories
    BEGIN UPDATE karen_catalog_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER trg_service_categories_catalog_version_delete AFTER DELETE ON service_categories
    BEGIN UPDATE karen_catalog_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER trg_service_pricing_tiers_catalog_version_insert AFTER INSERT ON service_pricing_tiers
    BEGIN UPDATE karen_catalog_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER trg_service_pricing_tiers_catalog_version_update AFTER UPDATE ON service_pricing_tiers
    BEGIN UPDATE karen_catalog_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER trg_service_pricing_tiers_catalog_version_delete AFTER DELETE ON service_pricing_tiers
    BEGIN UPDATE karen_catalog_version SET version = version + 1 WHERE id = 1; END;
