-- karen schema v1 for SQLite: the same tables, columns and rules as the PostgreSQL schema
-- (crates/karen-postgres/migrations/0001_initial.sql), in SQLite's types:
--   UUID        -> TEXT, lower-case hyphenated (byte order = PostgreSQL's uuid order)
--   TIMESTAMPTZ -> TEXT 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (fixed width: text order = time order)
--   DATE        -> TEXT 'YYYY-MM-DD'
--   DECIMAL     -> REAL (exact for DECIMAL(10,2); read back at the column's scale)
--   JSONB       -> TEXT holding valid JSON;  TEXT[] -> TEXT holding a JSON array
--   BOOLEAN     -> INTEGER 0/1
-- Constraints are named <kind>__<table>__<field>, as in PostgreSQL, so errors name the field.

CREATE TABLE customers (
    id TEXT PRIMARY KEY NOT NULL,
    external_id TEXT CONSTRAINT uq__customers__external_id UNIQUE,
    first_name TEXT,
    last_name TEXT,
    company_name TEXT,
    customer_type TEXT NOT NULL DEFAULT 'individual'
        CONSTRAINT ck__customers__customer_type CHECK (customer_type IN ('individual', 'business')),
    primary_email TEXT,
    primary_phone TEXT
        CONSTRAINT ck__customers__primary_phone CHECK (primary_phone GLOB '+[1-9]*'
            AND primary_phone NOT GLOB '+*[^0-9]*' AND length(primary_phone) BETWEEN 9 AND 16),
    secondary_email TEXT,
    secondary_phone TEXT
        CONSTRAINT ck__customers__secondary_phone CHECK (secondary_phone GLOB '+[1-9]*'
            AND secondary_phone NOT GLOB '+*[^0-9]*' AND length(secondary_phone) BETWEEN 9 AND 16),
    billing_address TEXT CONSTRAINT ck__customers__billing_address CHECK (json_valid(billing_address)),
    service_address TEXT CONSTRAINT ck__customers__service_address CHECK (json_valid(service_address)),
    status TEXT NOT NULL DEFAULT 'active'
        CONSTRAINT ck__customers__status CHECK (status IN ('active', 'inactive', 'blocked')),
    customer_tier TEXT NOT NULL DEFAULT 'standard'
        CONSTRAINT ck__customers__customer_tier CHECK (customer_tier IN ('standard', 'premium', 'vip')),
    preferred_contact_method TEXT,
    preferred_contact_time TEXT,
    communication_style TEXT,
    referral_source TEXT,
    customer_since TEXT DEFAULT (date('now')),
    lifetime_value REAL NOT NULL DEFAULT 0 CONSTRAINT ck__customers__lifetime_value CHECK (lifetime_value >= 0),
    total_jobs INTEGER NOT NULL DEFAULT 0 CONSTRAINT ck__customers__total_jobs CHECK (total_jobs >= 0),
    notes TEXT,
    tags TEXT CONSTRAINT ck__customers__tags CHECK (json_type(tags) = 'array'),
    metadata TEXT CONSTRAINT ck__customers__metadata CHECK (json_valid(metadata)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    last_contact_at TEXT
);
CREATE UNIQUE INDEX uq__customers__primary_email ON customers (lower(primary_email));
CREATE INDEX idx_customers_email ON customers(primary_email);
CREATE INDEX idx_customers_phone ON customers(primary_phone);
CREATE INDEX idx_customers_secondary_phone ON customers(secondary_phone);
CREATE INDEX idx_customers_status ON customers(status);
CREATE INDEX idx_customers_tier ON customers(customer_tier);
CREATE INDEX idx_customers_type ON customers(customer_type);
CREATE INDEX idx_customers_since ON customers(customer_since);
CREATE INDEX idx_customers_contact_method ON customers(preferred_contact_method);

CREATE TABLE conversations (
    id TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL
        CONSTRAINT fk__conversations__customer_id REFERENCES customers(id) ON DELETE CASCADE,
    conversation_thread_id TEXT,
    external_id TEXT,
    medium TEXT NOT NULL
        CONSTRAINT ck__conversations__medium CHECK (medium IN ('email', 'sms', 'voice', 'chat', 'webhook')),
    direction TEXT NOT NULL
        CONSTRAINT ck__conversations__direction CHECK (direction IN ('inbound', 'outbound')),
    subject TEXT,
    content TEXT NOT NULL,
    content_type TEXT NOT NULL DEFAULT 'text/plain',
    raw_content TEXT CONSTRAINT ck__conversations__raw_content CHECK (json_valid(raw_content)),
    from_address TEXT,
    to_address TEXT,
    cc_addresses TEXT CONSTRAINT ck__conversations__cc_addresses CHECK (json_type(cc_addresses) = 'array'),
    bcc_addresses TEXT CONSTRAINT ck__conversations__bcc_addresses CHECK (json_type(bcc_addresses) = 'array'),
    phone_number TEXT
        CONSTRAINT ck__conversations__phone_number CHECK (phone_number GLOB '+[1-9]*'
            AND phone_number NOT GLOB '+*[^0-9]*' AND length(phone_number) BETWEEN 9 AND 16),
    status TEXT NOT NULL DEFAULT 'received'
        CONSTRAINT ck__conversations__status
        CHECK (status IN ('received', 'processing', 'processed', 'replied', 'failed')),
    processing_stage TEXT
        CONSTRAINT ck__conversations__processing_stage CHECK (processing_stage IN
            ('nlp_analysis', 'intent_classification', 'response_generation', 'completed')),
    nlp_analysis TEXT CONSTRAINT ck__conversations__nlp_analysis CHECK (json_valid(nlp_analysis)),
    intent TEXT,
    sentiment TEXT
        CONSTRAINT ck__conversations__sentiment CHECK (sentiment IN ('positive', 'neutral', 'negative', 'mixed')),
    priority TEXT CONSTRAINT ck__conversations__priority CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    confidence_score REAL
        CONSTRAINT ck__conversations__confidence_score CHECK (confidence_score BETWEEN 0.0 AND 1.0),
    entities TEXT CONSTRAINT ck__conversations__entities CHECK (json_valid(entities)),
    keywords TEXT CONSTRAINT ck__conversations__keywords CHECK (json_type(keywords) = 'array'),
    topics TEXT CONSTRAINT ck__conversations__topics CHECK (json_type(topics) = 'array'),
    response_id TEXT
        CONSTRAINT fk__conversations__response_id REFERENCES conversations(id) ON DELETE SET NULL
        CONSTRAINT ck__conversations__response_id CHECK (response_id IS NOT id),
    response_template_used TEXT,
    response_generated_at TEXT,
    response_method TEXT
        CONSTRAINT ck__conversations__response_method CHECK (response_method IN ('template', 'llm', 'human')),
    message_timestamp TEXT NOT NULL,
    received_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    processed_at TEXT,
    metadata TEXT CONSTRAINT ck__conversations__metadata CHECK (json_valid(metadata)),
    agent_id TEXT,
    session_id TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
);
CREATE INDEX idx_conversations_customer_id ON conversations(customer_id);
CREATE INDEX idx_conversations_thread_id ON conversations(conversation_thread_id);
CREATE INDEX idx_conversations_external_id ON conversations(external_id);
CREATE INDEX idx_conversations_medium ON conversations(medium);
CREATE INDEX idx_conversations_direction ON conversations(direction);
CREATE INDEX idx_conversations_status ON conversations(status);
CREATE INDEX idx_conversations_intent ON conversations(intent);
CREATE INDEX idx_conversations_timestamp ON conversations(message_timestamp DESC);
CREATE INDEX idx_conversations_session ON conversations(session_id);
CREATE INDEX idx_conversations_response ON conversations(response_id);
CREATE INDEX idx_conversations_customer_medium_time ON conversations(customer_id, medium, message_timestamp DESC);
CREATE INDEX idx_conversations_status_priority ON conversations(status, priority);
CREATE UNIQUE INDEX uq__conversations__external_id ON conversations(medium, external_id)
    WHERE external_id IS NOT NULL;
CREATE INDEX idx_conversations_customer_time ON conversations(customer_id, message_timestamp DESC);

CREATE TABLE customer_preferences (
    id TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL
        CONSTRAINT fk__customer_preferences__customer_id REFERENCES customers(id) ON DELETE CASCADE,
    preference_type TEXT NOT NULL
        CONSTRAINT ck__customer_preferences__preference_type CHECK (preference_type IN ('communication_method',
            'scheduling', 'service', 'communication_style', 'emergency', 'billing', 'custom')),
    preference_key TEXT NOT NULL,
    preference_value TEXT NOT NULL
        CONSTRAINT ck__customer_preferences__preference_value CHECK (json_valid(preference_value)
            AND json_type(preference_value) = 'object' AND json_type(preference_value, '$.value') IS NOT NULL),
    confidence_score REAL NOT NULL DEFAULT 0.0
        CONSTRAINT ck__customer_preferences__confidence_score CHECK (confidence_score BETWEEN 0.0 AND 1.0),
    source TEXT NOT NULL
        CONSTRAINT ck__customer_preferences__source CHECK (source IN ('explicit', 'learned', 'inferred', 'default')),
    medium TEXT NOT NULL DEFAULT 'general'
        CONSTRAINT ck__customer_preferences__medium CHECK (medium IN ('email', 'sms', 'voice', 'general')),
    context TEXT CONSTRAINT ck__customer_preferences__context CHECK (json_valid(context)),
    learned_from_interaction_id TEXT
        CONSTRAINT fk__customer_preferences__learned_from_interaction_id
        REFERENCES conversations(id) ON DELETE SET NULL,
    learned_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    expires_at TEXT,
    is_active INTEGER NOT NULL DEFAULT 1 CONSTRAINT ck__customer_preferences__is_active CHECK (is_active IN (0, 1)),
    priority INTEGER NOT NULL DEFAULT 1 CONSTRAINT ck__customer_preferences__priority CHECK (priority BETWEEN 1 AND 5),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    created_by TEXT NOT NULL DEFAULT 'system',
    updated_by TEXT NOT NULL DEFAULT 'system',
    CONSTRAINT uq__customer_preferences__preference_key UNIQUE (customer_id, preference_type, preference_key, medium)
);
CREATE INDEX idx_customer_preferences_customer_id ON customer_preferences(customer_id);
CREATE INDEX idx_customer_preferences_type ON customer_preferences(preference_type);
CREATE INDEX idx_customer_preferences_active ON customer_preferences(is_active);
CREATE INDEX idx_customer_preferences_medium ON customer_preferences(medium);
CREATE INDEX idx_customer_preferences_confidence ON customer_preferences(confidence_score DESC);
CREATE INDEX idx_customer_preferences_priority ON customer_preferences(priority);
CREATE INDEX idx_customer_preferences_learned_from ON customer_preferences(learned_from_interaction_id);

CREATE TABLE conversation_attachments (
    id TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL
        CONSTRAINT fk__conversation_attachments__conversation_id REFERENCES conversations(id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    file_type TEXT,
    file_size INTEGER CONSTRAINT ck__conversation_attachments__file_size CHECK (file_size >= 0),
    storage_path TEXT,
    content_id TEXT,
    is_inline INTEGER NOT NULL DEFAULT 0 CONSTRAINT ck__conversation_attachments__is_inline CHECK (is_inline IN (0, 1)),
    checksum TEXT
        CONSTRAINT ck__conversation_attachments__checksum CHECK (length(checksum) = 71
            AND substr(checksum, 1, 7) = 'sha256:' AND substr(checksum, 8) NOT GLOB '*[^0-9a-f]*'),
    virus_scan_status TEXT NOT NULL DEFAULT 'pending'
        CONSTRAINT ck__conversation_attachments__virus_scan_status
        CHECK (virus_scan_status IN ('pending', 'clean', 'infected', 'error', 'skipped')),
    virus_scan_result TEXT CONSTRAINT ck__conversation_attachments__virus_scan_result CHECK (json_valid(virus_scan_result)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
);
CREATE INDEX idx_attachments_conversation_id ON conversation_attachments(conversation_id);
CREATE INDEX idx_attachments_file_type ON conversation_attachments(file_type);

CREATE TABLE service_categories (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL CONSTRAINT uq__service_categories__name UNIQUE,
    slug TEXT NOT NULL CONSTRAINT uq__service_categories__slug UNIQUE
        CONSTRAINT ck__service_categories__slug CHECK (slug GLOB '[a-z0-9]*' AND slug NOT GLOB '*[^a-z0-9-]*'
            AND slug NOT GLOB '*--*' AND slug NOT GLOB '*-'),
    description TEXT,
    parent_category_id TEXT
        CONSTRAINT fk__service_categories__parent_category_id REFERENCES service_categories(id) ON DELETE RESTRICT
        CONSTRAINT ck__service_categories__parent_category_id CHECK (parent_category_id IS NOT id),
    icon_url TEXT,
    sort_order INTEGER NOT NULL DEFAULT 0,
    is_active INTEGER NOT NULL DEFAULT 1 CONSTRAINT ck__service_categories__is_active CHECK (is_active IN (0, 1)),
    seo_title TEXT,
    seo_description TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
);
CREATE INDEX idx_service_categories_parent ON service_categories(parent_category_id);
CREATE INDEX idx_service_categories_active ON service_categories(is_active);
CREATE INDEX idx_service_categories_sort ON service_categories(sort_order);

CREATE TABLE services (
    id TEXT PRIMARY KEY NOT NULL,
    category_id TEXT NOT NULL
        CONSTRAINT fk__services__category_id REFERENCES service_categories(id) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    slug TEXT NOT NULL CONSTRAINT uq__services__slug UNIQUE
        CONSTRAINT ck__services__slug CHECK (slug GLOB '[a-z0-9]*' AND slug NOT GLOB '*[^a-z0-9-]*'
            AND slug NOT GLOB '*--*' AND slug NOT GLOB '*-'),
    short_description TEXT,
    full_description TEXT,
    pricing_model TEXT NOT NULL
        CONSTRAINT ck__services__pricing_model CHECK (pricing_model IN ('fixed', 'hourly', 'estimate', 'tiered')),
    base_price REAL CONSTRAINT ck__services__base_price CHECK (base_price >= 0 OR base_price IS NULL),
    hourly_rate REAL CONSTRAINT ck__services__hourly_rate CHECK (hourly_rate >= 0 OR hourly_rate IS NULL),
    minimum_charge REAL CONSTRAINT ck__services__minimum_charge CHECK (minimum_charge >= 0 OR minimum_charge IS NULL),
    maximum_charge REAL CONSTRAINT ck__services__maximum_charge CHECK (maximum_charge >= 0 OR maximum_charge IS NULL),
    currency TEXT NOT NULL DEFAULT 'USD'
        CONSTRAINT ck__services__currency CHECK (length(currency) = 3 AND currency NOT GLOB '*[^A-Z]*'),
    estimated_duration_minutes INTEGER
        CONSTRAINT ck__services__estimated_duration_minutes
        CHECK (estimated_duration_minutes > 0 OR estimated_duration_minutes IS NULL),
    difficulty_level INTEGER CONSTRAINT ck__services__difficulty_level CHECK (difficulty_level BETWEEN 1 AND 5),
    requires_permit INTEGER NOT NULL DEFAULT 0,
    emergency_service INTEGER NOT NULL DEFAULT 0,
    warranty_period_days INTEGER NOT NULL DEFAULT 90,
    is_active INTEGER NOT NULL DEFAULT 1 CONSTRAINT ck__services__is_active CHECK (is_active IN (0, 1)),
    is_featured INTEGER NOT NULL DEFAULT 0 CONSTRAINT ck__services__is_featured CHECK (is_featured IN (0, 1)),
    availability_zones TEXT CONSTRAINT ck__services__availability_zones CHECK (json_type(availability_zones) = 'array'),
    seasonal_availability TEXT CONSTRAINT ck__services__seasonal_availability CHECK (json_valid(seasonal_availability)),
    required_skills TEXT CONSTRAINT ck__services__required_skills CHECK (json_type(required_skills) = 'array'),
    required_tools TEXT CONSTRAINT ck__services__required_tools CHECK (json_type(required_tools) = 'array'),
    required_materials TEXT CONSTRAINT ck__services__required_materials CHECK (json_type(required_materials) = 'array'),
    prerequisites TEXT CONSTRAINT ck__services__prerequisites CHECK (json_type(prerequisites) = 'array'),
    seo_title TEXT,
    seo_description TEXT,
    keywords TEXT CONSTRAINT ck__services__keywords CHECK (json_type(keywords) = 'array'),
    image_urls TEXT CONSTRAINT ck__services__image_urls CHECK (json_type(image_urls) = 'array'),
    metadata TEXT CONSTRAINT ck__services__metadata CHECK (json_valid(metadata)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    created_by TEXT NOT NULL DEFAULT 'system',
    updated_by TEXT NOT NULL DEFAULT 'system',
    CONSTRAINT ck__services__charge_range CHECK (minimum_charge IS NULL OR maximum_charge IS NULL
        OR minimum_charge <= maximum_charge),
    CONSTRAINT ck__services__base_price_fixed CHECK (pricing_model <> 'fixed' OR base_price IS NOT NULL),
    CONSTRAINT ck__services__hourly_rate_hourly CHECK (pricing_model <> 'hourly' OR hourly_rate IS NOT NULL)
);
CREATE INDEX idx_services_category ON services(category_id);
CREATE INDEX idx_services_active ON services(is_active);
CREATE INDEX idx_services_featured ON services(is_featured);
CREATE INDEX idx_services_emergency ON services(emergency_service);
CREATE INDEX idx_services_pricing_model ON services(pricing_model);
CREATE INDEX idx_services_difficulty ON services(difficulty_level);

-- karen: the distinct lower-case words of services.keywords, one row each, so keyword search
-- is an index lookup rather than a scan of a JSON column (SQLite has no array type or GIN).
-- Maintained by the backend in the transaction that writes the service.
CREATE TABLE service_search_terms (
    term TEXT NOT NULL,
    service_id TEXT NOT NULL
        CONSTRAINT fk__service_search_terms__service_id REFERENCES services(id) ON DELETE CASCADE,
    PRIMARY KEY (term, service_id)
) WITHOUT ROWID;
CREATE INDEX idx_service_search_terms_service ON service_search_terms(service_id);

CREATE TABLE service_pricing_tiers (
    id TEXT PRIMARY KEY NOT NULL,
    service_id TEXT NOT NULL
        CONSTRAINT fk__service_pricing_tiers__service_id REFERENCES services(id) ON DELETE CASCADE,
    tier_name TEXT NOT NULL,
    tier_description TEXT,
    min_quantity INTEGER NOT NULL DEFAULT 1
        CONSTRAINT ck__service_pricing_tiers__min_quantity CHECK (min_quantity >= 0),
    max_quantity INTEGER
        CONSTRAINT ck__service_pricing_tiers__max_quantity CHECK (max_quantity IS NULL OR max_quantity >= min_quantity),
    price REAL NOT NULL CONSTRAINT ck__service_pricing_tiers__price CHECK (price >= 0),
    unit TEXT CONSTRAINT ck__service_pricing_tiers__unit CHECK (unit IN ('each', 'hour', 'sqft', 'linear_ft')),
    is_default INTEGER NOT NULL DEFAULT 0
        CONSTRAINT ck__service_pricing_tiers__is_default_bool CHECK (is_default IN (0, 1)),
    sort_order INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
);
CREATE INDEX idx_pricing_tiers_service ON service_pricing_tiers(service_id);
CREATE INDEX idx_pricing_tiers_default ON service_pricing_tiers(is_default);
CREATE UNIQUE INDEX uq__service_pricing_tiers__is_default ON service_pricing_tiers(service_id) WHERE is_default = 1;

CREATE TABLE service_packages (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    slug TEXT NOT NULL CONSTRAINT uq__service_packages__slug UNIQUE
        CONSTRAINT ck__service_packages__slug CHECK (slug GLOB '[a-z0-9]*' AND slug NOT GLOB '*[^a-z0-9-]*'
            AND slug NOT GLOB '*--*' AND slug NOT GLOB '*-'),
    description TEXT,
    package_type TEXT NOT NULL DEFAULT 'bundle'
        CONSTRAINT ck__service_packages__package_type CHECK (package_type IN ('bundle', 'maintenance', 'seasonal')),
    total_price REAL NOT NULL CONSTRAINT ck__service_packages__total_price CHECK (total_price >= 0),
    savings_amount REAL NOT NULL DEFAULT 0 CONSTRAINT ck__service_packages__savings_amount CHECK (savings_amount >= 0),
    currency TEXT NOT NULL DEFAULT 'USD'
        CONSTRAINT ck__service_packages__currency CHECK (length(currency) = 3 AND currency NOT GLOB '*[^A-Z]*'),
    estimated_duration_hours REAL
        CONSTRAINT ck__service_packages__estimated_duration_hours
        CHECK (estimated_duration_hours > 0 OR estimated_duration_hours IS NULL),
    validity_period_days INTEGER NOT NULL DEFAULT 365
        CONSTRAINT ck__service_packages__validity_period_days CHECK (validity_period_days > 0),
    max_uses INTEGER CONSTRAINT ck__service_packages__max_uses CHECK (max_uses > 0),
    is_active INTEGER NOT NULL DEFAULT 1 CONSTRAINT ck__service_packages__is_active CHECK (is_active IN (0, 1)),
    is_featured INTEGER NOT NULL DEFAULT 0 CONSTRAINT ck__service_packages__is_featured CHECK (is_featured IN (0, 1)),
    available_from TEXT,
    available_until TEXT,
    terms_and_conditions TEXT,
    image_urls TEXT CONSTRAINT ck__service_packages__image_urls CHECK (json_type(image_urls) = 'array'),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    CONSTRAINT ck__service_packages__available_from CHECK (available_from IS NULL OR available_until IS NULL
        OR available_from <= available_until)
);
CREATE INDEX idx_packages_active ON service_packages(is_active);
CREATE INDEX idx_packages_featured ON service_packages(is_featured);
CREATE INDEX idx_packages_availability ON service_packages(available_from, available_until);

CREATE TABLE package_services (
    id TEXT PRIMARY KEY NOT NULL,
    package_id TEXT NOT NULL
        CONSTRAINT fk__package_services__package_id REFERENCES service_packages(id) ON DELETE CASCADE,
    service_id TEXT NOT NULL
        CONSTRAINT fk__package_services__service_id REFERENCES services(id) ON DELETE CASCADE,
    quantity INTEGER NOT NULL DEFAULT 1 CONSTRAINT ck__package_services__quantity CHECK (quantity > 0),
    included_price REAL
        CONSTRAINT ck__package_services__included_price CHECK (included_price >= 0 OR included_price IS NULL),
    is_optional INTEGER NOT NULL DEFAULT 0,
    sort_order INTEGER NOT NULL DEFAULT 0,
    notes TEXT,
    CONSTRAINT uq__package_services__service_id UNIQUE (package_id, service_id)
);
CREATE INDEX idx_package_services_package ON package_services(package_id);
CREATE INDEX idx_package_services_service ON package_services(service_id);
