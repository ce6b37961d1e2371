-- Rules the first schema missed: warranty_period_days >= 0, and the 0/1 form of the booleans
-- requires_permit, emergency_service (services) and is_optional (package_services) that every
-- other boolean column has. SQLite cannot add a CHECK to an existing table without rebuilding
-- it, so these are triggers that fail as a CHECK does, with the constraint's name in the
-- message ("CHECK constraint failed: ck__..."), which karen reads like any CHECK.
CREATE TRIGGER ck__services__insert BEFORE INSERT ON services
WHEN NEW.warranty_period_days < 0 OR NEW.requires_permit NOT IN (0, 1) OR NEW.emergency_service NOT IN (0, 1)
BEGIN
    SELECT CASE
        WHEN NEW.warranty_period_days < 0 THEN RAISE(ABORT, 'CHECK constraint failed: ck__services__warranty_period_days')
        WHEN NEW.requires_permit NOT IN (0, 1) THEN RAISE(ABORT, 'CHECK constraint failed: ck__services__requires_permit')
        ELSE RAISE(ABORT, 'CHECK constraint failed: ck__services__emergency_service')
    END;
END;

CREATE TRIGGER ck__services__update BEFORE UPDATE OF warranty_period_days, requires_permit, emergency_service ON services
WHEN NEW.warranty_period_days < 0 OR NEW.requires_permit NOT IN (0, 1) OR NEW.emergency_service NOT IN (0, 1)
BEGIN
    SELECT CASE
        WHEN NEW.warranty_period_days < 0 THEN RAISE(ABORT, 'CHECK constraint failed: ck__services__warranty_period_days')
        WHEN NEW.requires_permit NOT IN (0, 1) THEN RAISE(ABORT, 'CHECK constraint failed: ck__services__requires_permit')
        ELSE RAISE(ABORT, 'CHECK constraint failed: ck__services__emergency_service')
    END;
END;

CREATE TRIGGER ck__package_services__insert BEFORE INSERT ON package_services
WHEN NEW.is_optional NOT IN (0, 1)
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: ck__package_services__is_optional');
END;

CREATE TRIGGER ck__package_services__update BEFORE UPDATE OF is_optional ON package_services
WHEN NEW.is_optional NOT IN (0, 1)
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: ck__package_services__is_optional');
END;
