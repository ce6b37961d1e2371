-- Quotes read packages and their services from the catalog snapshot (decisions.md item 23,
-- docs/decisions.md K41): writes to them change the catalog version too.
CREATE TRIGGER trg_service_packages_catalog_version_insert AFTER INSERT ON service_packages
    BEGIN UPDATE karen_catalog_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER trg_service_packages_catalog_version_update AFTER UPDATE ON service_packages
    BEGIN UPDATE karen_catalog_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER trg_service_packages_catalog_version_delete AFTER DELETE ON service_packages
    BEGIN UPDATE karen_catalog_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER trg_package_services_catalog_version_insert AFTER INSERT ON package_services
    BEGIN UPDATE karen_catalog_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER trg_package_services_catalog_version_update AFTER UPDATE ON package_services
    BEGIN UPDATE karen_catalog_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER trg_package_services_catalog_version_delete AFTER DELETE ON package_services
    BEGIN UPDATE karen_catalog_version SET version = version + 1 WHERE id = 1; END;
