-- The JSON CHECKs of migrations 1 and 3 read `CHECK (json_valid(col))` on nullable columns and
-- relied on json_valid(NULL) being NULL, which only SQLite 3.45 and later do: an older sqlite3
-- (Debian's 3.40) reports every NULL there as a broken CHECK in `PRAGMA integrity_check` and
-- refuses to write such rows. They become `CHECK (col IS NULL OR json_valid(col))`, which means
-- the same on every SQLite since 3.37. A CHECK's text does not change how rows are stored, so
-- the table definitions are edited in place, the procedure SQLite documents for such changes
-- (https://www.sqlite.org/lang_altertable.html, "making other kinds of table schema changes");
-- karen bumps the schema version after every migration, so open connections reload it.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (json_valid(billing_address))', 'CHECK (billing_address IS NULL OR json_valid(billing_address))')
    WHERE type = 'table' AND name = 'customers';
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (json_valid(service_address))', 'CHECK (service_address IS NULL OR json_valid(service_address))')
    WHERE type = 'table' AND name = 'customers';
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (json_valid(metadata))', 'CHECK (metadata IS NULL OR json_valid(metadata))')
    WHERE type = 'table' AND name = 'customers';
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (json_valid(raw_content))', 'CHECK (raw_content IS NULL OR json_valid(raw_content))')
    WHERE type = 'table' AND name = 'conversations';
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (json_valid(nlp_analysis))', 'CHECK (nlp_analysis IS NULL OR json_valid(nlp_analysis))')
    WHERE type = 'table' AND name = 'conversations';
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (json_valid(entities))', 'CHECK (entities IS NULL OR json_valid(entities))')
    WHERE type = 'table' AND name = 'conversations';
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (json_valid(metadata))', 'CHECK (metadata IS NULL OR json_valid(metadata))')
    WHERE type = 'table' AND name = 'conversations';
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (json_valid(context))', 'CHECK (context IS NULL OR json_valid(context))')
    WHERE type = 'table' AND name = 'customer_preferences';
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (json_valid(virus_scan_result))', 'CHECK (virus_scan_result IS NULL OR json_valid(virus_scan_result))')
    WHERE type = 'table' AND name = 'conversation_attachments';
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (json_valid(seasonal_availability))', 'CHECK (seasonal_availability IS NULL OR json_valid(seasonal_availability))')
    WHERE type = 'table' AND name = 'services';
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (json_valid(metadata))', 'CHECK (metadata IS NULL OR json_valid(metadata))')
    WHERE type = 'table' AND name = 'services';
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (json_valid(preference_value))', 'CHECK (preference_value IS NULL OR json_valid(preference_value))')
    WHERE type = 'table' AND name = 'customer_preference_history';
PRAGMA writable_schema = OFF;
