-- karen schema v11: conversation search (decisions.md item 26, docs/decisions.md K52).
-- A stored generated tsvector of each message's subject (weight A) and the first 32,768
-- characters of its content (weight B) under karen's own text search configuration, named
-- explicitly in the column and in every query so the GIN index is used. The configuration
-- folds diacritics (unaccent) and stems with the snowball porter dictionary without stop
-- words, over the words left after karen_search_text turns punctuation into spaces: the
-- tokens SQLite's unicode61 tokenizer and karen's own (Firestore) make of the same text.
CREATE EXTENSION IF NOT EXISTS unaccent;

CREATE TEXT SEARCH DICTIONARY karen_porter (TEMPLATE = snowball, Language = porter);

CREATE TEXT SEARCH CONFIGURATION karen_search (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION karen_search
    ALTER MAPPING FOR asciiword, word, numword, hword_asciipart, hword_part, hword_numpart
    WITH unaccent, karen_porter;
ALTER TEXT SEARCH CONFIGURATION karen_search
    DROP MAPPING IF EXISTS FOR email, url, host, url_path, file, sfloat, float, version, protocol, tag, entity,
                     asciihword, hword, numhword;

-- ASCII punctuation and symbols, and the Unicode punctuation, symbol and emoji blocks, become
-- spaces (in a C-locale database the parser would read non-ASCII punctuation as letters).
CREATE FUNCTION karen_search_text(t text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN regexp_replace(t,
        '[[:punct:]\u00a0-\u00bf\u00d7\u00f7\u2000-\u2bff\u3000-\u303f\ufe30-\ufe4f\uff00-\uff0f\uff1a-\uff20\U0001f000-\U0001faff]',
        ' ', 'g');

ALTER TABLE conversations ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('karen_search'::regconfig, karen_search_text(coalesce(subject, ''))), 'A') ||
    setweight(to_tsvector('karen_search'::regconfig, karen_search_text(left(content, 32768))), 'B')
) STORED;

CREATE INDEX idx_conversations_search ON conversations USING gin (search_vector);
