-- karen schema v12: conversation search (decisions.md item 26, docs/decisions.md K52).
-- An FTS5 index over each message's subject and the first 32,768 characters of its content,
-- with SQLite's porter stemmer over unicode61 tokens whose diacritics are removed. The
-- index's rowids live in conversation_search_ids, whose INTEGER PRIMARY KEY survives VACUUM
-- (the implicit rowid of conversations may not); the external content is a view over it, and
-- triggers keep the index in step with every write, whoever makes it. Messages stored before
-- this migration are indexed by karen in batches after it (resumable: a message without an
-- id row is not indexed yet).
CREATE TABLE conversation_search_ids (
    rowid INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL UNIQUE
);

CREATE VIEW conversation_search_docs AS
SELECT m.rowid AS doc_id, c.subject AS subject, substr(c.content, 1, 32768) AS content
  FROM conversation_search_ids m JOIN conversations c ON c.id = m.conversation_id;

CREATE VIRTUAL TABLE conversation_fts USING fts5(
    subject, content,
    content = 'conversation_search_docs', content_rowid = 'doc_id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER trg_conversations_search_insert AFTER INSERT ON conversations
BEGIN
    INSERT INTO conversation_search_ids (conversation_id) VALUES (NEW.id);
    INSERT INTO conversation_fts (rowid, subject, content)
    SELECT m.rowid, NEW.subject, substr(NEW.content, 1, 32768)
      FROM conversation_search_ids m WHERE m.conversation_id = NEW.id;
END;

CREATE TRIGGER trg_conversations_search_update AFTER UPDATE OF subject, content ON conversations
BEGIN
    INSERT INTO conversation_fts (conversation_fts, rowid, subject, content)
    SELECT 'delete', m.rowid, OLD.subject, substr(OLD.content, 1, 32768)
      FROM conversation_search_ids m WHERE m.conversation_id = OLD.id;
    INSERT INTO conversation_fts (rowid, subject, content)
    SELECT m.rowid, NEW.subject, substr(NEW.content, 1, 32768)
      FROM conversation_search_ids m WHERE m.conversation_id = NEW.id;
END;

CREATE TRIGGER trg_conversations_search_delete AFTER DELETE ON conversations
BEGIN
    INSERT INTO conversation_fts (conversation_fts, rowid, subject, content)
    SELECT 'delete', m.rowid, OLD.subject, substr(OLD.content, 1, 32768)
      FROM conversation_search_ids m WHERE m.conversation_id = OLD.id;
    DELETE FROM conversation_search_ids WHERE conversation_id = OLD.id;
END;
