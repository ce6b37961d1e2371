-- karen schema v1: schema-design.md's DDL in foreign-key order with the fixes of decisions.md.
-- Constraints are named <kind>__<table>__<field> so the backend can name the field in errors.
-- Columns with a design default that karen always writes are NOT NULL (docs/decisions.md K3).

CREATE FUNCTION karen_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- karen's own connections (SET karen.clock = 'on') set updated_at from karen's clock;
    -- any other writer that leaves it unchanged gets now().
    IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at
       AND current_setting('karen.clock', true) IS DISTINCT FROM 'on' THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END $$;

CREATE TABLE customers (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    external_id VARCHAR(255) CONSTRAINT uq__customers__external_id UNIQUE,
    first_name VARCHAR(100),
    last_name VARCHAR(100),
    company_name VARCHAR(200),
    customer_type VARCHAR(20) NOT NULL DEFAULT 'individual',
    primary_email VARCHAR(255),
    primary_phone VARCHAR(20),
    secondary_email VARCHAR(255),
    secondary_phone VARCHAR(20),
    billing_address JSONB,
    service_address JSONB,
    status VARCHAR(20) NOT NULL DEFAULT 'active',
    customer_tier VARCHAR(20) NOT NULL DEFAULT 'standard',
    preferred_contact_method VARCHAR(20),
    preferred_contact_time VARCHAR(50),
    communication_style VARCHAR(20),
    referral_source VARCHAR(100),
    customer_since DATE DEFAULT CURRENT_DATE,
    lifetime_value DECIMAL(10,2) NOT NULL DEFAULT 0,
    total_jobs INTEGER NOT NULL DEFAULT 0,
    notes TEXT,
    tags TEXT[],
    metadata JSONB,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    last_contact_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT ck__customers__customer_type CHECK (customer_type IN ('individual', 'business')),
    CONSTRAINT ck__customers__status CHECK (status IN ('active', 'inactive', 'blocked')),
    CONSTRAINT ck__customers__customer_tier CHECK (customer_tier IN ('standard', 'premium', 'vip')),
    CONSTRAINT ck__customers__lifetime_value CHECK (lifetime_value >= 0),
    CONSTRAINT ck__customers__total_jobs CHECK (total_jobs >= 0),
    CONSTRAINT ck__customers__primary_phone CHECK (primary_phone ~ '^\+[1-9][0-9]{7,14}$'),
    CONSTRAINT ck__customers__secondary_phone CHECK (secondary_phone ~ '^\+[1-9][0-9]{7,14}$')
);
CREATE UNIQUE INDEX uq__customers__primary_email ON customers (lower(primary_email));
CREATE INDEX idx_customers_email ON customers(primary_email);
CREATE INDEX idx_customers_phone ON customers(primary_phone);
CREATE INDEX idx_customers_secondary_phone ON customers(secondary_phone);
CREATE INDEX idx_customers_status ON customers(status);
CREATE INDEX idx_customers_tier ON customers(customer_tier);
CREATE INDEX idx_customers_type ON customers(customer_type);
CREATE INDEX idx_customers_since ON customers(customer_since);
CREATE INDEX idx_customers_tags ON customers USING GIN(tags);
CREATE INDEX idx_customers_contact_method ON customers(preferred_contact_method);
CREATE TRIGGER trg_customers_updated_at BEFORE UPDATE ON customers
    FOR EACH ROW EXECUTE FUNCTION karen_touch_updated_at();

CREATE TABLE conversations (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id UUID NOT NULL
        CONSTRAINT fk__conversations__customer_id REFERENCES customers(id) ON DELETE CASCADE,
    conversation_thread_id VARCHAR(255),
    external_id VARCHAR(255),
    medium VARCHAR(20) NOT NULL,
    direction VARCHAR(10) NOT NULL,
    subject VARCHAR(500),
    content TEXT NOT NULL,
    content_type VARCHAR(50) NOT NULL DEFAULT 'text/plain',
    raw_content JSONB,
    from_address VARCHAR(255),
    to_address VARCHAR(255),
    cc_addresses TEXT[],
    bcc_addresses TEXT[],
    phone_number VARCHAR(20),
    status VARCHAR(50) NOT NULL DEFAULT 'received',
    processing_stage VARCHAR(50),
    nlp_analysis JSONB,
    intent VARCHAR(100),
    sentiment VARCHAR(20),
    priority VARCHAR(20),
    confidence_score DECIMAL(3,2),
    entities JSONB,
    keywords TEXT[],
    topics TEXT[],
    response_id UUID
        CONSTRAINT fk__conversations__response_id REFERENCES conversations(id) ON DELETE SET NULL,
    response_template_used VARCHAR(100),
    response_generated_at TIMESTAMP WITH TIME ZONE,
    response_method VARCHAR(20),
    message_timestamp TIMESTAMP WITH TIME ZONE NOT NULL,
    received_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    processed_at TIMESTAMP WITH TIME ZONE,
    metadata JSONB,
    agent_id VARCHAR(50),
    session_id VARCHAR(255),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT ck__conversations__direction CHECK (direction IN ('inbound', 'outbound')),
    CONSTRAINT ck__conversations__medium CHECK (medium IN ('email', 'sms', 'voice', 'chat', 'webhook')),
    CONSTRAINT ck__conversations__confidence_score
        CHECK (confidence_score IS NULL OR confidence_score BETWEEN 0.0 AND 1.0),
    CONSTRAINT ck__conversations__status
        CHECK (status IN ('received', 'processing', 'processed', 'replied', 'failed')),
    CONSTRAINT ck__conversations__processing_stage CHECK (processing_stage IN
        ('nlp_analysis', 'intent_classification', 'response_generation', 'completed')),
    CONSTRAINT ck__conversations__response_method CHECK (response_method IN ('template', 'llm', 'human')),
    CONSTRAINT ck__conversations__sentiment CHECK (sentiment IN ('positive', 'neutral', 'negative', 'mixed')),
    CONSTRAINT ck__conversations__priority CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    CONSTRAINT ck__conversations__phone_number CHECK (phone_number ~ '^\+[1-9][0-9]{7,14}$'),
    CONSTRAINT ck__conversations__response_id CHECK (response_id IS DISTINCT FROM id)
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
-- karen: idempotent ingest (decisions.md item 5) and all-media history / analytics windows.
CREATE UNIQUE INDEX uq__conversations__external_id ON conversations(medium, external_id)
    WHERE external_id IS NOT NULL;
CREATE INDEX idx_conversations_customer_time ON conversations(customer_id, message_timestamp DESC);
CREATE TRIGGER trg_conversations_updated_at BEFORE UPDATE ON conversations
    FOR EACH ROW EXECUTE FUNCTION karen_touch_updated_at();

CREATE TABLE customer_preferences (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id UUID NOT NULL
        CONSTRAINT fk__customer_preferences__customer_id REFERENCES customers(id) ON DELETE CASCADE,
    preference_type VARCHAR(50) NOT NULL,
    preference_key VARCHAR(100) NOT NULL,
    preference_value JSONB NOT NULL,
    confidence_score DECIMAL(3,2) NOT NULL DEFAULT 0.0,
    source VARCHAR(50) NOT NULL,
    medium VARCHAR(20) NOT NULL DEFAULT 'general',
    context JSONB,
    learned_from_interaction_id UUID
        CONSTRAINT fk__customer_preferences__learned_from_interaction_id
        REFERENCES conversations(id) ON DELETE SET NULL,
    learned_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    expires_at TIMESTAMP WITH TIME ZONE,
    is_active BOOLEAN NOT NULL DEFAULT true,
    priority INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_by VARCHAR(50) NOT NULL DEFAULT 'system',
    updated_by VARCHAR(50) NOT NULL DEFAULT 'system',
    CONSTRAINT uq__customer_preferences__preference_key
        UNIQUE (customer_id, preference_type, preference_key, medium),
    CONSTRAINT ck__customer_preferences__confidence_score CHECK (confidence_score BETWEEN 0.0 AND 1.0),
    CONSTRAINT ck__customer_preferences__medium CHECK (medium IN ('email', 'sms', 'voice', 'general')),
    CONSTRAINT ck__customer_preferences__priority CHECK (priority BETWEEN 1 AND 5),
    CONSTRAINT ck__customer_preferences__source CHECK (source IN ('explicit', 'learned', 'inferred', 'default')),
    CONSTRAINT ck__customer_preferences__preference_type CHECK (preference_type IN ('communication_method',
        'scheduling', 'service', 'communication_style', 'emergency', 'billing', 'custom')),
    CONSTRAINT ck__customer_preferences__preference_value
        CHECK (jsonb_typeof(preference_value) = 'object' AND preference_value ? 'value')
);
CREATE INDEX idx_customer_preferences_customer_id ON customer_preferences(customer_id);
CREATE INDEX idx_customer_preferences_type ON customer_preferences(preference_type);
CREATE INDEX idx_customer_preferences_active ON customer_preferences(is_active);
CREATE INDEX idx_customer_preferences_medium ON customer_preferences(medium);
CREATE INDEX idx_customer_preferences_confidence ON customer_preferences(confidence_score DESC);
CREATE INDEX idx_customer_preferences_priority ON customer_preferences(priority);
-- karen: deleting a message must not scan every preference (decisions.md item 16).
CREATE INDEX idx_customer_preferences_learned_from ON customer_preferences(learned_from_interaction_id);
CREATE TRIGGER trg_customer_preferences_updated_at BEFORE UPDATE ON customer_preferences
    FOR EACH ROW EXECUTE FUNCTION karen_touch_updated_at();

CREATE TABLE conversation_attachments (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    conversation_id UUID NOT NULL
        CONSTRAINT fk__conversation_attachments__conversation_id REFERENCES conversations(id) ON DELETE CASCADE,
    file_name VARCHAR(255) NOT NULL,
    file_type VARCHAR(100),
    file_size INTEGER,
    storage_path VARCHAR(500),
    content_id VARCHAR(255),
    is_inline BOOLEAN NOT NULL DEFAULT false,
    checksum VARCHAR(71),
    virus_scan_status VARCHAR(20) NOT NULL DEFAULT 'pending',
    virus_scan_result JSONB,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT ck__conversation_attachments__file_size CHECK (file_size >= 0),
    CONSTRAINT ck__conversation_attachments__checksum CHECK (checksum ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT ck__conversation_attachments__virus_scan_status
        CHECK (virus_scan_status IN ('pending', 'clean', 'infected', 'error', 'skipped'))
);
CREATE INDEX idx_attachments_conversation_id ON conversation_attachments(conversation_id);
CREATE INDEX idx_attachments_file_type ON conversation_attachments(file_type);

CREATE TABLE service_categories (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(100) NOT NULL CONSTRAINT uq__service_categories__name UNIQUE,
    slug VARCHAR(100) NOT NULL CONSTRAINT uq__service_categories__slug UNIQUE,
    description TEXT,
    parent_category_id UUID
        CONSTRAINT fk__service_categories__parent_category_id
        REFERENCES service_categories(id) ON DELETE RESTRICT,
    icon_url VARCHAR(500),
    sort_order INTEGER NOT NULL DEFAULT 0,
    is_active BOOLEAN NOT NULL DEFAULT true,
    seo_title VARCHAR(200),
    seo_description TEXT,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT ck__service_categories__slug CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    CONSTRAINT ck__service_categories__parent_category_id CHECK (parent_category_id IS DISTINCT FROM id)
);
CREATE INDEX idx_service_categories_parent ON service_categories(parent_category_id);
CREATE INDEX idx_service_categories_active ON service_categories(is_active);
CREATE INDEX idx_service_categories_sort ON service_categories(sort_order);
CREATE TRIGGER trg_service_categories_updated_at BEFORE UPDATE ON service_categories
    FOR EACH ROW EXECUTE FUNCTION karen_touch_updated_at();

CREATE TABLE services (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    category_id UUID NOT NULL
        CONSTRAINT fk__services__category_id REFERENCES service_categories(id) ON DELETE RESTRICT,
    name VARCHAR(200) NOT NULL,
    slug VARCHAR(200) NOT NULL CONSTRAINT uq__services__slug UNIQUE,
    short_description VARCHAR(500),
    full_description TEXT,
    pricing_model VARCHAR(50) NOT NULL,
    base_price DECIMAL(10,2),
    hourly_rate DECIMAL(10,2),
    minimum_charge DECIMAL(10,2),
    maximum_charge DECIMAL(10,2),
    currency VARCHAR(3) NOT NULL DEFAULT 'USD',
    estimated_duration_minutes INTEGER,
    difficulty_level INTEGER,
    requires_permit BOOLEAN NOT NULL DEFAULT false,
    emergency_service BOOLEAN NOT NULL DEFAULT false,
    warranty_period_days INTEGER NOT NULL DEFAULT 90,
    is_active BOOLEAN NOT NULL DEFAULT true,
    is_featured BOOLEAN NOT NULL DEFAULT false,
    availability_zones TEXT[],
    seasonal_availability JSONB,
    required_skills TEXT[],
    required_tools TEXT[],
    required_materials TEXT[],
    prerequisites TEXT[],
    seo_title VARCHAR(200),
    seo_description TEXT,
    keywords TEXT[],
    image_urls TEXT[],
    metadata JSONB,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_by VARCHAR(50) NOT NULL DEFAULT 'system',
    updated_by VARCHAR(50) NOT NULL DEFAULT 'system',
    -- karen: the lower-case words of keywords, maintained by trigger, for word search.
    search_terms TEXT[] NOT NULL DEFAULT '{}',
    CONSTRAINT ck__services__pricing_model CHECK (pricing_model IN ('fixed', 'hourly', 'estimate', 'tiered')),
    CONSTRAINT ck__services__base_price CHECK (base_price >= 0 OR base_price IS NULL),
    CONSTRAINT ck__services__hourly_rate CHECK (hourly_rate >= 0 OR hourly_rate IS NULL),
    CONSTRAINT ck__services__minimum_charge CHECK (minimum_charge >= 0 OR minimum_charge IS NULL),
    CONSTRAINT ck__services__maximum_charge CHECK (maximum_charge >= 0 OR maximum_charge IS NULL),
    CONSTRAINT ck__services__estimated_duration_minutes
        CHECK (estimated_duration_minutes > 0 OR estimated_duration_minutes IS NULL),
    CONSTRAINT ck__services__difficulty_level CHECK (difficulty_level BETWEEN 1 AND 5),
    CONSTRAINT ck__services__slug CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    CONSTRAINT ck__services__currency CHECK (currency ~ '^[A-Z]{3}$'),
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
CREATE INDEX idx_services_availability_zones ON services USING GIN(availability_zones);
CREATE INDEX idx_services_keywords ON services USING GIN(keywords);
CREATE INDEX idx_services_search_terms ON services USING GIN(search_terms);
CREATE TRIGGER trg_services_updated_at BEFORE UPDATE ON services
    FOR EACH ROW EXECUTE FUNCTION karen_touch_updated_at();

CREATE FUNCTION karen_service_search_terms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_terms := ARRAY(
        SELECT DISTINCT w
        FROM unnest(COALESCE(NEW.keywords, '{}'::text[])) AS k,
             regexp_split_to_table(lower(k), '[^[:alnum:]]+') AS w
        WHERE w <> ''
        ORDER BY w);
    RETURN NEW;
END $$;
CREATE TRIGGER trg_services_search_terms BEFORE INSERT OR UPDATE OF keywords ON services
    FOR EACH ROW EXECUTE FUNCTION karen_service_search_terms();

CREATE TABLE service_pricing_tiers (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    service_id UUID NOT NULL
        CONSTRAINT fk__service_pricing_tiers__service_id REFERENCES services(id) ON DELETE CASCADE,
    tier_name VARCHAR(100) NOT NULL,
    tier_description TEXT,
    min_quantity INTEGER NOT NULL DEFAULT 1,
    max_quantity INTEGER,
    price DECIMAL(10,2) NOT NULL,
    unit VARCHAR(50),
    is_default BOOLEAN NOT NULL DEFAULT false,
    sort_order INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT ck__service_pricing_tiers__price CHECK (price >= 0),
    CONSTRAINT ck__service_pricing_tiers__min_quantity CHECK (min_quantity >= 0),
    CONSTRAINT ck__service_pricing_tiers__max_quantity CHECK (max_quantity IS NULL OR max_quantity >= min_quantity),
    CONSTRAINT ck__service_pricing_tiers__unit CHECK (unit IN ('each', 'hour', 'sqft', 'linear_ft'))
);
CREATE INDEX idx_pricing_tiers_service ON service_pricing_tiers(service_id);
CREATE INDEX idx_pricing_tiers_default ON service_pricing_tiers(is_default);
CREATE UNIQUE INDEX uq__service_pricing_tiers__is_default ON service_pricing_tiers(service_id) WHERE is_default;

CREATE TABLE service_packages (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(200) NOT NULL,
    slug VARCHAR(200) NOT NULL CONSTRAINT uq__service_packages__slug UNIQUE,
    description TEXT,
    package_type VARCHAR(50) NOT NULL DEFAULT 'bundle',
    total_price DECIMAL(10,2) NOT NULL,
    savings_amount DECIMAL(10,2) NOT NULL DEFAULT 0,
    currency VARCHAR(3) NOT NULL DEFAULT 'USD',
    estimated_duration_hours DECIMAL(4,2),
    validity_period_days INTEGER NOT NULL DEFAULT 365,
    max_uses INTEGER,
    is_active BOOLEAN NOT NULL DEFAULT true,
    is_featured BOOLEAN NOT NULL DEFAULT false,
    available_from DATE,
    available_until DATE,
    terms_and_conditions TEXT,
    image_urls TEXT[],
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT ck__service_packages__total_price CHECK (total_price >= 0),
    CONSTRAINT ck__service_packages__savings_amount CHECK (savings_amount >= 0),
    CONSTRAINT ck__service_packages__estimated_duration_hours
        CHECK (estimated_duration_hours > 0 OR estimated_duration_hours IS NULL),
    CONSTRAINT ck__service_packages__package_type CHECK (package_type IN ('bundle', 'maintenance', 'seasonal')),
    CONSTRAINT ck__service_packages__slug CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    CONSTRAINT ck__service_packages__currency CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT ck__service_packages__validity_period_days CHECK (validity_period_days > 0),
    CONSTRAINT ck__service_packages__max_uses CHECK (max_uses > 0),
    CONSTRAINT ck__service_packages__available_from CHECK (available_from IS NULL OR available_until IS NULL
        OR available_from <= available_until)
);
CREATE INDEX idx_packages_active ON service_packages(is_active);
CREATE INDEX idx_packages_featured ON service_packages(is_featured);
CREATE INDEX idx_packages_availability ON service_packages(available_from, available_until);
CREATE TRIGGER trg_service_packages_updated_at BEFORE UPDATE ON service_packages
    FOR EACH ROW EXECUTE FUNCTION karen_touch_updated_at();

CREATE TABLE package_services (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    package_id UUID NOT NULL
        CONSTRAINT fk__package_services__package_id REFERENCES service_packages(id) ON DELETE CASCADE,
    service_id UUID NOT NULL
        CONSTRAINT fk__package_services__service_id REFERENCES services(id) ON DELETE CASCADE,
    quantity INTEGER NOT NULL DEFAULT 1,
    included_price DECIMAL(10,2),
    is_optional BOOLEAN NOT NULL DEFAULT false,
    sort_order INTEGER NOT NULL DEFAULT 0,
    notes TEXT,
    CONSTRAINT uq__package_services__service_id UNIQUE (package_id, service_id),
    CONSTRAINT ck__package_services__quantity CHECK (quantity > 0),
    CONSTRAINT ck__package_services__included_price CHECK (included_price >= 0 OR included_price IS NULL)
);
CREATE INDEX idx_package_services_package ON package_services(package_id);
CREATE INDEX idx_package_services_service ON package_services(service_id);
